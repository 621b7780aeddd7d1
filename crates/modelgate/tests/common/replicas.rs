//! Several gateway processes on one store, and a PostgreSQL server of a
//! test's own that it may stop and start (the shared test cluster serves
//! every other test at once, so no test stops it).

use std::path::PathBuf;
use std::process::Command;

use super::TestGateway;
use super::spawn::spawn_gateway;
use super::store::{PgCluster, TestStore};

impl TestGateway {
    /// Starts another replica of this gateway: the same configuration and
    /// store, `server.replica_id = replica_id`, a directory and ports of its
    /// own. It shares this gateway's identity `app` and key.
    pub fn spawn_replica(&self, replica_id: &str) -> TestGateway {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("modelgate.toml");
        std::fs::write(&config, with_replica_id(&self.config_text(), replica_id)).unwrap();
        let started = spawn_gateway(&config, self.open_files);
        TestGateway {
            child: started.child,
            addr: started.addr,
            metrics_addr: started.metrics,
            admin_addr: started.admin,
            logs: started.logs,
            key: self.key.clone(),
            dir,
            config,
            store: self.store.clone(),
            open_files: self.open_files,
        }
    }

    /// Runs `modelgate serve` on this gateway's configuration with
    /// `server.replica_id = replica_id` and waits for it to exit (a start
    /// that must be refused); its exit status and everything it printed.
    pub fn serve_as(&self, replica_id: &str) -> (std::process::ExitStatus, String) {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("modelgate.toml");
        std::fs::write(&config, with_replica_id(&self.config_text(), replica_id)).unwrap();
        let out = Command::new(super::binary())
            .args(["--config", config.to_str().unwrap(), "serve"])
            .env("MG_TEST_UPSTREAM_KEY", super::UPSTREAM_CANARY)
            .env("MG_TEST_KEK", super::TEST_KEK)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status, text)
    }

    /// The configuration file's text.
    pub fn config_text(&self) -> String {
        std::fs::read_to_string(&self.config).unwrap()
    }
}

/// `text` with its `replica_id` line (which the harness always writes)
/// naming `replica_id`.
fn with_replica_id(text: &str, replica_id: &str) -> String {
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("replica_id") {
                found = true;
                format!("replica_id = \"{replica_id}\"")
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert!(found, "the configuration names no replica_id:\n{text}");
    lines.join("\n") + "\n"
}

/// A PostgreSQL server of one test's own (`scripts/pg-cluster`), which the
/// test may stop and start again; removed when dropped.
pub struct PrivateCluster {
    dir: PathBuf,
    /// The cluster's address, password and CA.
    pub cluster: PgCluster,
}

fn pg_cluster_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-cluster")
}

fn run_script(args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(pg_cluster_script())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg-cluster {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl PrivateCluster {
    /// Starts a new cluster (a few seconds: initdb, certificates).
    pub fn start() -> PrivateCluster {
        let dir = tempfile::Builder::new()
            .prefix("mgpg")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        let exports = run_script(&["start", dir.to_str().unwrap()]);
        let value = |name: &str| {
            exports
                .lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .map(|v| v.trim_matches('\'').to_owned())
                .unwrap_or_else(|| panic!("pg-cluster printed no {name}: {exports}"))
        };
        let cluster = PgCluster {
            url: value("MODELGATE_TEST_PG_URL"),
            password: value("MODELGATE_TEST_PG_PASSWORD"),
            ca: Some(PathBuf::from(value("MODELGATE_TEST_PG_CA"))),
            password_file: Some(dir.join("pwfile")),
        };
        PrivateCluster { dir, cluster }
    }

    /// A fresh database in this cluster, as a test store (its
    /// configuration reads the password from the cluster's `pwfile`).
    pub fn store(&self) -> TestStore {
        let database = self.cluster.create_database();
        TestStore::Postgres {
            cluster: self.cluster.clone(),
            database,
        }
    }

    /// Stops the server (every session ends); its data stays.
    pub fn pause(&self) {
        run_script(&["pause", self.dir.to_str().unwrap()]);
    }

    /// Starts the server again on the same port and data.
    pub fn resume(&self) {
        run_script(&["resume", self.dir.to_str().unwrap()]);
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(pg_cluster_script())
            .args(["stop", self.dir.to_str().unwrap_or_default()])
            .output();
    }
}
