//! Starting a [`TestGateway`]: its configuration (the store the backend
//! switch or the test asks for, free ports, the test KEK), identity `app`
//! and its key through the real CLI, then `modelgate serve`.

use super::spawn::spawn_gateway;
use super::store::TestStore;
use super::{TOKENS_SECTION, TestGateway, cli_at};

/// Options of a [`TestGateway`] (see [`TestGateway::builder`]).
#[derive(Debug, Default)]
pub struct GatewayBuilder {
    server: String,
    open_files: Option<u64>,
    backend: Backend,
    store: Option<TestStore>,
}

/// The store backend a [`GatewayBuilder`] asks for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// What `MODELGATE_TEST_BACKEND` says.
    #[default]
    Switch,
    /// SQLite whatever the switch says.
    Sqlite,
    /// A fresh database of the test cluster whatever the switch says.
    Postgres,
}

impl GatewayBuilder {
    /// TOML lines added to the `[server]` table.
    pub fn server(mut self, server: &str) -> Self {
        self.server = server.to_owned();
        self
    }

    /// The process started under `ulimit -n limit` (soft and hard limit).
    pub fn open_files(mut self, limit: u64) -> Self {
        self.open_files = Some(limit);
        self
    }

    /// A SQLite store (`dir/modelgate.db`) even under the PostgreSQL
    /// switch, for a test that reads or changes the file itself.
    pub fn sqlite_only(mut self) -> Self {
        self.backend = Backend::Sqlite;
        self
    }

    /// A fresh database of the PostgreSQL test cluster even without the
    /// switch (the cluster must be named: `MODELGATE_TEST_PG_URL`...).
    pub fn postgres(mut self) -> Self {
        self.backend = Backend::Postgres;
        self
    }

    /// This store, whatever the switch says (a database of a private
    /// cluster, for a test that stops the server).
    pub fn store(mut self, store: TestStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Starts the gateway whose config is `body` (see [`TestGateway::start`]).
    pub async fn start(self, body: &str) -> TestGateway {
        let GatewayBuilder {
            server,
            open_files,
            backend,
            store,
        } = self;
        let server = server.as_str();
        let dir = tempfile::tempdir().unwrap();
        let store = match (store, backend) {
            (Some(store), _) => store,
            (None, Backend::Switch) => TestStore::new(dir.path(), "modelgate.db"),
            (None, Backend::Sqlite) => TestStore::sqlite(dir.path().join("modelgate.db")),
            (None, Backend::Postgres) => TestStore::postgres(),
        };
        let config = dir.path().join("modelgate.toml");
        let metrics = if server.contains("metrics_listen") {
            ""
        } else {
            "metrics_listen = \"127.0.0.1:0\"\n"
        };
        // One chain name whatever the host is called, unless the test names one.
        let replica = if server.contains("replica_id") {
            ""
        } else {
            "replica_id = \"gateway\"\n"
        };
        let text = format!(
            "{}\n[server]\nlisten = \"127.0.0.1:0\"\n{replica}{metrics}shutdown_grace = \"2s\"\nhousekeeping_interval = \"1s\"\n{server}\n{}{body}",
            store.section(),
            if body.contains("[tokens]") {
                ""
            } else {
                TOKENS_SECTION
            }
        );
        std::fs::write(&config, text).unwrap();
        let run = |args: &[&str]| {
            let out = cli_at(&config, args);
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out
        };
        run(&[
            "identity",
            "create",
            "--name",
            "app",
            "--kind",
            "service",
            "--owner",
            "team-a@example.com",
            "--environment",
            "prod",
        ]);
        let out = run(&[
            "key",
            "create",
            "--identity",
            "app",
            "--expires-in",
            "1h",
            "--format",
            "json",
        ]);
        let issued: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let key = issued["key"].as_str().unwrap().to_owned();

        let started = spawn_gateway(&config, open_files);
        TestGateway {
            child: started.child,
            addr: started.addr,
            metrics_addr: started.metrics,
            admin_addr: started.admin,
            logs: started.logs,
            key,
            dir,
            config,
            store,
            open_files,
        }
    }
}
