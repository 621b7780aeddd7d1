//! Starting the gateway of a scenario: its configuration written (base,
//! tokens, a fresh store, the scenario's fragment), the bench identity, its
//! key and role provisioned into that store through the CLI, `modelgate
//! serve` started; and, once it has stopped, its store and audit files
//! removed. A gateway scenario's store is a fresh SQLite file or a fresh
//! database of the PostgreSQL cluster, so that every gateway starts from
//! the same state whatever ran before it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::gateway_config::{self, FragmentPaths, PG_PASSWORD_ENV, StoreSpec};
use crate::policyset;
use crate::postgres::Cluster;
use crate::process::{self, Running};
use crate::scenario::Backend;

/// How long a gateway may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What starts gateways, and the state they share.
pub struct Gateways {
    tmp: PathBuf,
    bin: PathBuf,
    mock_addr: SocketAddr,
    keep_temp: bool,
    base: Option<String>,
    policy_dir: Option<PathBuf>,
    audit_root: Option<tempfile::TempDir>,
    started: usize,
    postgres: Option<Cluster>,
}

/// A started gateway.
pub struct StartedGateway {
    /// The `modelgate serve` process.
    pub running: Running,
    /// Its data-plane address.
    pub addr: SocketAddr,
    /// The bench identity's API key in this gateway's store.
    pub api_key: String,
    /// The PostgreSQL server's pid when the store is there.
    pub server_pid: Option<u32>,
    /// What to remove once it has stopped.
    pub leftovers: Leftovers,
}

/// What a gateway leaves behind: its audit files and its store.
#[derive(Debug)]
pub struct Leftovers {
    audit_dir: PathBuf,
    store: LeftStore,
}

#[derive(Debug)]
enum LeftStore {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Gateways {
    /// Gateways of `bin` against the mock at `mock_addr`, their files in
    /// `tmp`; `postgres` is the cluster of the PostgreSQL scenarios.
    pub fn new(
        tmp: &Path,
        bin: PathBuf,
        mock_addr: SocketAddr,
        keep_temp: bool,
        postgres: Option<Cluster>,
    ) -> Gateways {
        Gateways {
            tmp: tmp.to_path_buf(),
            bin,
            mock_addr,
            keep_temp,
            base: None,
            policy_dir: None,
            audit_root: None,
            started: 0,
            postgres,
        }
    }

    /// The bench policy set's directory, written on first use.
    fn policy_dir(&mut self) -> Result<PathBuf> {
        if let Some(dir) = &self.policy_dir {
            return Ok(dir.clone());
        }
        let dir = self.tmp.join("policies");
        policyset::write_policy_dir(&dir)?;
        eprintln!(
            "==> bench policy set in {}: {} roles and {} Cedar policies in {} files",
            dir.display(),
            policyset::role_count(),
            policyset::cedar_policy_count(),
            policyset::CEDAR_FILES.len()
        );
        self.policy_dir = Some(dir.clone());
        Ok(dir)
    }

    /// A fresh directory for one gateway's audit files: on tmpfs
    /// (`/dev/shm`) when there is one, so that no disk sync is involved.
    fn audit_dir(&mut self, n: usize) -> Result<PathBuf> {
        if self.audit_root.is_none() {
            let shm = Path::new("/dev/shm");
            let mut b = tempfile::Builder::new();
            b.prefix("modelgate-bench-audit-");
            let root = if shm.is_dir() {
                b.tempdir_in(shm)
            } else {
                b.tempdir_in(&self.tmp)
            }
            .context("cannot create a directory for audit files")?;
            self.audit_root = Some(root);
        }
        let root = self.audit_root.as_ref().context("audit root missing")?;
        Ok(root.path().join(format!("gateway-{n}")))
    }

    /// The base gateway configuration this `modelgate` binary accepts,
    /// decided once: with a `[tokens]` key-encryption key (a fresh one in
    /// the temporary directory) when the binary knows access tokens (where
    /// it is required), without it when it does not (it refuses the
    /// unknown table).
    fn base(&mut self) -> Result<String> {
        if let Some(base) = &self.base {
            return Ok(base.clone());
        }
        let dir = &self.tmp;
        let base = gateway_config::base_gateway_config(self.mock_addr);
        let kek = dir.join("kek");
        let mut random = [0u8; 32];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut random)
            .context("cannot read /dev/urandom")?;
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(&kek, hex).with_context(|| format!("cannot write {}", kek.display()))?;
        let with_tokens =
            gateway_config::merge_config(&base, &gateway_config::tokens_fragment(&kek));
        let probe = dir.join("probe.toml");
        let probe_store = gateway_config::store_fragment(StoreSpec::Sqlite(&dir.join("probe.db")));
        std::fs::write(
            &probe,
            gateway_config::merge_config(&with_tokens, &probe_store),
        )
        .with_context(|| format!("cannot write {}", probe.display()))?;
        let mut check = Command::new(&self.bin);
        check.arg("--config").arg(&probe).args(["config", "check"]);
        let chosen = match process::run_to_end(check) {
            Ok(_) => with_tokens,
            Err(e) if format!("{e:#}").contains("unknown field `tokens`") => base,
            Err(e) => return Err(e.context("the generated gateway configuration does not check")),
        };
        self.base = Some(chosen.clone());
        Ok(chosen)
    }

    /// A fresh store for gateway `n`: its `[store]` table, what to remove
    /// afterwards, and the PostgreSQL server's pid.
    fn fresh_store(&self, n: usize, backend: Backend) -> Result<(String, LeftStore, Option<u32>)> {
        match backend {
            Backend::Sqlite => {
                let path = self.tmp.join(format!("store-{n}.db"));
                let table = gateway_config::store_fragment(StoreSpec::Sqlite(&path));
                Ok((table, LeftStore::Sqlite(path), None))
            }
            Backend::Postgres { .. } => {
                let cluster = self
                    .postgres
                    .as_ref()
                    .context("a PostgreSQL scenario, but no cluster was started")?;
                let name = format!("bench_{n}");
                let url = cluster.create_database(&name)?;
                let table = gateway_config::store_fragment(StoreSpec::Postgres {
                    url: &url,
                    ca_file: cluster.ca_file(),
                });
                eprintln!("==> PostgreSQL database {name} (fresh)");
                Ok((table, LeftStore::Postgres(name), Some(cluster.server_pid())))
            }
        }
    }

    /// Writes a gateway configuration (base + a fresh store of `backend` +
    /// `fragment` with its placeholders filled), provisions the bench
    /// identity, its key and (for a configuration with roles) the bench
    /// role into that store, and starts `modelgate serve`.
    pub fn start(&mut self, fragment: &str, backend: Backend) -> Result<StartedGateway> {
        self.started += 1;
        let n = self.started;
        let base = self.base()?;
        let policies = self.policy_dir()?;
        let audit = self.audit_dir(n)?;
        let filled = gateway_config::fill_fragment(
            fragment,
            FragmentPaths {
                roles: policyset::ROLES_TOML,
                policy_dir: &policies,
                audit_dir: &audit,
            },
        );
        let (store, left, server_pid) = self.fresh_store(n, backend)?;
        let leftovers = Leftovers {
            audit_dir: audit,
            store: left,
        };
        let config = self.tmp.join(format!("gateway-{n}.toml"));
        let text =
            gateway_config::merge_config(&gateway_config::merge_config(&base, &store), &filled);
        let started = std::fs::write(&config, text)
            .with_context(|| format!("cannot write {}", config.display()))
            .and_then(|()| self.provision_and_serve(n, &config, fragment));
        match started {
            Ok((running, addr, api_key)) => Ok(StartedGateway {
                running,
                addr,
                api_key,
                server_pid,
                leftovers,
            }),
            Err(e) => {
                self.clean_up(leftovers);
                Err(e)
            }
        }
    }

    /// The bench identity, key and role, then `modelgate serve`.
    fn provision_and_serve(
        &self,
        n: usize,
        config: &Path,
        fragment: &str,
    ) -> Result<(Running, SocketAddr, String)> {
        let password = self.postgres.as_ref().map(Cluster::password);
        let cli = |args: &[&str]| gateway_command(&self.bin, config, password, args);
        let key = provision_bench_identity(&cli)?;
        if gateway_config::has_roles(fragment) {
            process::run_to_end(cli(&[
                "role",
                "assign",
                "--identity",
                "bench",
                "--role",
                policyset::BENCH_ROLE,
                "--by",
                "bench",
            ]))?;
        }
        let log = self.tmp.join(format!("gateway-{n}.log"));
        let (running, addr) =
            process::spawn_listening("modelgate", cli(&["serve"]), &log, START_TIMEOUT)?;
        eprintln!(
            "==> gateway on {addr} (pid {}, config {}, log {})",
            running.pid,
            config.display(),
            log.display()
        );
        Ok((running, addr, key))
    }

    /// Removes what a stopped gateway left: its audit files (large after a
    /// run; on tmpfs, memory), its PostgreSQL database, and its SQLite
    /// file unless `--keep-temp`.
    pub fn clean_up(&self, left: Leftovers) {
        let dir = &left.audit_dir;
        if !dir.as_os_str().is_empty() && dir.is_dir() {
            let _ = std::fs::remove_dir_all(dir);
        }
        match left.store {
            LeftStore::Sqlite(path) if !self.keep_temp => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            LeftStore::Sqlite(_) => {}
            LeftStore::Postgres(name) => {
                if let Some(cluster) = &self.postgres
                    && let Err(e) = cluster.drop_database(&name)
                {
                    eprintln!("warning: cannot drop database {name}: {e:#}");
                }
            }
        }
    }

    /// The PostgreSQL cluster, when one runs.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.postgres.as_ref()
    }
}

/// `modelgate --config CONFIG ARGS...` as the bench runs it: the log level
/// the configuration sets (no `RUST_LOG`), and the PostgreSQL password in
/// [`PG_PASSWORD_ENV`] when the store is there.
pub fn gateway_command(
    bin: &Path,
    config: &Path,
    pg_password: Option<&str>,
    args: &[&str],
) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG");
    if let Some(password) = pg_password {
        cmd.env(PG_PASSWORD_ENV, password);
    }
    cmd
}

/// Creates the bench identity and a one-day key for it through `cli` (a
/// [`gateway_command`] on one configuration); the key.
pub fn provision_bench_identity(cli: &dyn Fn(&[&str]) -> Command) -> Result<String> {
    process::run_to_end(cli(&[
        "identity",
        "create",
        "--name",
        "bench",
        "--kind",
        "service",
        "--owner",
        "bench@localhost",
        "--environment",
        "prod",
    ]))?;
    let out = process::run_to_end(cli(&[
        "key",
        "create",
        "--identity",
        "bench",
        "--expires-in",
        "1d",
        "--format",
        "json",
    ]))?;
    let v: serde_json::Value = serde_json::from_str(out.trim()).context("key create output")?;
    v["key"]
        .as_str()
        .map(str::to_owned)
        .context("key create printed no key")
}
