//! The PostgreSQL server of the `*-pg` scenarios: a durable throwaway
//! cluster started with `scripts/pg-cluster start DIR --durable` (fsync and
//! synchronous commit on, TLS, password authentication) and stopped, its
//! directory removed, when the [`Cluster`] is dropped (at the end of the
//! run, on an error, on Ctrl-C); one fresh database per gateway start,
//! created and dropped with `psql`; the postmaster's pid, whose process
//! tree is the server's CPU time.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process;

/// `scripts/pg-cluster` of the source tree (or of the working directory).
fn script() -> PathBuf {
    let from_source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-cluster");
    if from_source.is_file() {
        from_source.canonicalize().unwrap_or(from_source)
    } else {
        PathBuf::from("scripts/pg-cluster")
    }
}

/// A running throwaway cluster; stopped and removed on drop.
pub struct Cluster {
    script: PathBuf,
    dir: PathBuf,
    /// `postgres://modelgate@127.0.0.1:PORT/postgres` (no password).
    url: String,
    password: String,
    ca_file: PathBuf,
    server_pid: u32,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("dir", &self.dir)
            .field("url", &self.url)
            .field("password", &"[redacted]")
            .field("server_pid", &self.server_pid)
            .finish()
    }
}

/// Stops the cluster in `dir` and removes it (also when it never fully
/// started: the script's `stop` copes).
fn stop(script: &Path, dir: &Path) {
    let mut cmd = Command::new(script);
    cmd.arg("stop").arg(dir);
    if let Err(e) = process::run_to_end(cmd) {
        eprintln!(
            "warning: stopping the PostgreSQL cluster in {} failed: {e:#}",
            dir.display()
        );
    }
}

/// Stops a cluster directory when dropped, until [`Cluster`] takes over.
struct StopOnDrop<'a> {
    script: &'a Path,
    dir: Option<&'a Path>,
}

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(dir) = self.dir {
            stop(self.script, dir);
        }
    }
}

impl Cluster {
    /// Starts a durable cluster in a fresh directory under the system's
    /// temporary directory (not the harness's: the server may run as
    /// another user, who must reach it).
    pub fn start() -> Result<Cluster> {
        let script = script();
        let dir = tempfile::Builder::new()
            .prefix("modelgate-bench-pg-")
            .tempdir()
            .context("cannot create a directory for the PostgreSQL cluster")?
            .keep();
        let mut guard = StopOnDrop {
            script: &script,
            dir: Some(&dir),
        };
        let mut cmd = Command::new(&script);
        cmd.arg("start").arg(&dir).arg("--durable");
        let out = process::run_to_end(cmd).with_context(|| {
            format!(
                "cannot start a PostgreSQL cluster with {} (PostgreSQL 15+ server binaries, psql and openssl are needed: `scripts/pg-cluster install`)",
                script.display()
            )
        })?;
        let vars = parse_exports(&out);
        let var = |name: &str| {
            vars.get(name)
                .cloned()
                .with_context(|| format!("pg-cluster start printed no {name}"))
        };
        let url = var("MODELGATE_TEST_PG_URL")?;
        let password = var("MODELGATE_TEST_PG_PASSWORD")?;
        let ca_file = PathBuf::from(var("MODELGATE_TEST_PG_CA")?);
        let pid_file = dir.join("data/postmaster.pid");
        let server_pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.lines().next()?.trim().parse().ok())
            .with_context(|| format!("no server pid in {}", pid_file.display()))?;
        guard.dir = None;
        drop(guard);
        let cluster = Cluster {
            script,
            dir,
            url,
            password,
            ca_file,
            server_pid,
        };
        cluster.psql("postgres", "SELECT 1")?;
        Ok(cluster)
    }

    /// The postmaster's pid: it and its descendants are the server.
    pub fn server_pid(&self) -> u32 {
        self.server_pid
    }

    /// The CA certificate that signed the server's certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The password of the cluster's user (to hand to the gateway through
    /// the environment; never printed).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The cluster's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the server (every session ends), keeping its data.
    pub fn pause(&self) -> Result<()> {
        let mut cmd = Command::new(&self.script);
        cmd.arg("pause").arg(&self.dir);
        process::run_to_end(cmd).map(|_| ())
    }

    /// Starts the server again on the same port and data.
    pub fn resume(&self) -> Result<()> {
        let mut cmd = Command::new(&self.script);
        cmd.arg("resume").arg(&self.dir);
        process::run_to_end(cmd).map(|_| ())
    }

    /// Creates database `name` and returns its url (no password in it).
    pub fn create_database(&self, name: &str) -> Result<String> {
        check_name(name)?;
        self.psql("postgres", &format!("CREATE DATABASE {name}"))?;
        database_url(&self.url, name)
    }

    /// Drops database `name`, closing any connection still open to it.
    pub fn drop_database(&self, name: &str) -> Result<()> {
        check_name(name)?;
        self.psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
    }

    /// Runs one SQL command with `psql` in `database`, over TLS checked
    /// against the cluster's CA, the password in `PGPASSWORD`.
    fn psql(&self, database: &str, sql: &str) -> Result<()> {
        let mut cmd = Command::new("psql");
        cmd.arg(database_url(&self.url, database)?)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .env("PGPASSWORD", &self.password)
            .env("PGSSLMODE", "verify-full")
            .env("PGSSLROOTCERT", &self.ca_file)
            .env("PGCONNECT_TIMEOUT", "10");
        process::run_to_end(cmd).map(drop)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        eprintln!(
            "==> stopping the PostgreSQL cluster in {}",
            self.dir.display()
        );
        stop(&self.script, &self.dir);
    }
}

/// A database name the harness makes: lower-case letters, digits and `_`,
/// so that it needs no quoting in SQL.
fn check_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain {
        bail!("not a plain database name: {name:?}");
    }
    Ok(())
}

/// `server` (`postgres://user@host:port/db?query`) naming database `name`
/// instead.
pub fn database_url(server: &str, name: &str) -> Result<String> {
    let scheme_end = server
        .find("://")
        .map(|i| i + 3)
        .context("the cluster's url has no scheme")?;
    let rest = &server[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest[authority_end..]
        .find('?')
        .map_or("", |i| &rest[authority_end + i..]);
    Ok(format!(
        "{}{}/{name}{query}",
        &server[..scheme_end],
        &rest[..authority_end]
    ))
}

/// The `export NAME='VALUE'` lines of `pg-cluster start`.
pub fn parse_exports(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let (name, value) = line.trim().strip_prefix("export ")?.split_once('=')?;
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(value);
            Some((name.trim().to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_of_pg_cluster_start() {
        let vars = parse_exports(
            "export MODELGATE_TEST_PG_URL='postgres://modelgate@127.0.0.1:5433/postgres'\n\
             export MODELGATE_TEST_PG_PASSWORD='abc123'\nnoise\n\
             export MODELGATE_TEST_PG_CA='/tmp/x y/ca.crt'\n",
        );
        assert_eq!(
            vars["MODELGATE_TEST_PG_URL"],
            "postgres://modelgate@127.0.0.1:5433/postgres"
        );
        assert_eq!(vars["MODELGATE_TEST_PG_PASSWORD"], "abc123");
        assert_eq!(vars["MODELGATE_TEST_PG_CA"], "/tmp/x y/ca.crt");
        assert_eq!(vars.len(), 3);
    }

    #[test]
    fn database_url_replaces_only_the_database() {
        let u = |s: &str| database_url(s, "bench_3").unwrap();
        assert_eq!(
            u("postgres://modelgate@127.0.0.1:5433/postgres"),
            "postgres://modelgate@127.0.0.1:5433/bench_3"
        );
        assert_eq!(
            u("postgresql://gw@db:5432/x?application_name=a"),
            "postgresql://gw@db:5432/bench_3?application_name=a"
        );
        assert_eq!(u("postgres://gw@db"), "postgres://gw@db/bench_3");
        assert!(database_url("db:5432/x", "y").is_err());
    }

    #[test]
    fn only_plain_database_names() {
        assert!(check_name("bench_12").is_ok());
        for bad in ["", "Bench", "a;drop", "a b", "a\"b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
