//! `[store]`: where the gateway keeps its state. Either a SQLite file
//! (`path`) or a PostgreSQL database (`url`), never both. The PostgreSQL
//! password is a secret reference (`password = "env:NAME"` or
//! `"file:PATH"`), never part of the url; no message and no `Debug` output
//! ever shows one.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{ConfigError, SecretRef, invalid};

/// The SQLite file used when the configuration has no `[store]` section.
pub const DEFAULT_STORE_PATH: &str = "modelgate.db";

/// The libpq `sslmode` spellings `[store] sslmode` accepts.
pub const SSL_MODES: [&str; 4] = ["disable", "require", "verify-ca", "verify-full"];

/// The default `[store] sslmode`: TLS with the server's certificate checked
/// against the CA and the host name.
pub const DEFAULT_SSL_MODE: &str = "verify-full";

/// The default `[store] max_connections` (the PostgreSQL pool): the
/// token endpoint's store work peaked at 16 here, against 8 (BENCHMARKS.md,
/// "Store pool").
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// `[store]`. Without the section, the SQLite file [`DEFAULT_STORE_PATH`];
/// a `[store]` section must give exactly one of `path` and `url`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// SQLite database file (created if missing).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// PostgreSQL database: `postgres://user@host:port/database`, without
    /// a password.
    #[serde(default)]
    pub url: Option<String>,
    /// The PostgreSQL password: a secret reference (`env:NAME` or
    /// `file:PATH`).
    #[serde(default)]
    pub password: Option<String>,
    /// TLS to PostgreSQL, in libpq's spelling ([`SSL_MODES`]); default
    /// [`DEFAULT_SSL_MODE`].
    #[serde(default)]
    pub sslmode: Option<String>,
    /// CA certificates (PEM) that sign the PostgreSQL server's certificate;
    /// the platform's web roots when absent.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Most connections the PostgreSQL pool keeps open; default
    /// [`DEFAULT_MAX_CONNECTIONS`].
    #[serde(default)]
    pub max_connections: Option<u32>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: Some(PathBuf::from(DEFAULT_STORE_PATH)),
            url: None,
            password: None,
            sslmode: None,
            ca_file: None,
            max_connections: None,
        }
    }
}

/// Which store a configuration names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreLocation<'a> {
    /// A SQLite file.
    Sqlite(&'a Path),
    /// A PostgreSQL database, by its url (no password in it once
    /// validated).
    Postgres(&'a str),
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The url is shown as host and database only (it may hold a
        // password before validation), the password reference only when it
        // is one (a literal is a secret).
        let password = self.password.as_deref().map(|reference| {
            if SecretRef::parse(reference).is_ok() {
                reference
            } else {
                "[redacted]"
            }
        });
        f.debug_struct("StoreConfig")
            .field("path", &self.path)
            .field("url", &self.url.as_deref().map(describe_url))
            .field("password", &password)
            .field("sslmode", &self.sslmode)
            .field("ca_file", &self.ca_file)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl StoreConfig {
    /// The store this section names: the url when it is set, else the
    /// path (else [`DEFAULT_STORE_PATH`]).
    pub fn location(&self) -> StoreLocation<'_> {
        match (&self.url, &self.path) {
            (Some(url), _) => StoreLocation::Postgres(url),
            (None, Some(path)) => StoreLocation::Sqlite(path),
            (None, None) => StoreLocation::Sqlite(Path::new(DEFAULT_STORE_PATH)),
        }
    }

    /// The store as messages name it: the SQLite file, or
    /// `postgresql HOST:PORT/DATABASE` (never a user name or password).
    pub fn describe(&self) -> String {
        match self.location() {
            StoreLocation::Sqlite(path) => path.display().to_string(),
            StoreLocation::Postgres(url) => format!("postgresql {}", describe_url(url)),
        }
    }

    /// The configured `sslmode`, or [`DEFAULT_SSL_MODE`].
    pub fn ssl_mode(&self) -> &str {
        self.sslmode.as_deref().unwrap_or(DEFAULT_SSL_MODE)
    }

    /// The configured pool size, or [`DEFAULT_MAX_CONNECTIONS`].
    pub fn pool_size(&self) -> u32 {
        self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS)
    }

    /// Makes `path`, `ca_file` and a `file:` password relative to `dir`.
    pub(crate) fn resolve_paths(&mut self, dir: &Path) {
        for path in [&mut self.path, &mut self.ca_file].into_iter().flatten() {
            if path.is_relative() {
                *path = dir.join(&*path);
            }
        }
        if let Some(reference) = &mut self.password
            && let Some(path) = reference.strip_prefix("file:")
            && !path.is_empty()
            && Path::new(path).is_relative()
        {
            *reference = format!("file:{}", dir.join(path).display());
        }
    }

    /// Every problem of the section, each naming its field. No message
    /// repeats the url or the password.
    pub(crate) fn problems(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        let Some(url) = &self.url else {
            if self.path.is_none() {
                problems.push(invalid(
                    "store",
                    "[store] needs either path (a SQLite file) or url (a PostgreSQL database)",
                ));
            }
            for (field, set) in [
                ("password", self.password.is_some()),
                ("sslmode", self.sslmode.is_some()),
                ("ca_file", self.ca_file.is_some()),
                ("max_connections", self.max_connections.is_some()),
            ] {
                if set {
                    problems.push(invalid(
                        format!("store.{field}"),
                        "only for a PostgreSQL store (store.url)",
                    ));
                }
            }
            return problems;
        };
        if self.path.is_some() {
            problems.push(invalid(
                "store",
                "[store] gives both path (SQLite) and url (PostgreSQL): keep one",
            ));
        }
        if let Err(reason) = check_url(url) {
            problems.push(invalid("store.url", reason));
        }
        if let Some(reference) = &self.password
            && let Err(reason) = SecretRef::parse(reference)
        {
            problems.push(invalid("store.password", reason));
        }
        if self.sslmode.as_deref() == Some("prefer") {
            problems.push(invalid(
                "store.sslmode",
                "prefer falls back to an unencrypted connection whenever TLS fails, so \
                 anyone on the path can force it; use verify-full (the default), verify-ca or \
                 require, or disable for a server reached only on this host",
            ));
        } else if let Some(mode) = &self.sslmode
            && !SSL_MODES.contains(&mode.as_str())
        {
            problems.push(invalid(
                "store.sslmode",
                format!("expected one of {}", SSL_MODES.join(", ")),
            ));
        }
        if self.max_connections == Some(0) {
            problems.push(invalid("store.max_connections", "must be at least 1"));
        }
        problems
    }
}

/// Query parameters that must not be in the url: each has its own key (a
/// password in a url ends up in shell history and process listings; a
/// `host` or `sslmode` there would silently override what the rest of the
/// section says).
const QUERY_KEYS_REFUSED: [(&str, &str); 8] = [
    ("password", "store.password = \"env:NAME\" or \"file:PATH\""),
    ("passfile", "store.password = \"env:NAME\" or \"file:PATH\""),
    ("host", "the url's host"),
    ("hostaddr", "the url's host"),
    ("port", "the url's port"),
    ("sslmode", "store.sslmode"),
    ("sslrootcert", "store.ca_file"),
    ("user", "the url's user name"),
];

/// The url parsed as a `postgres://` or `postgresql://` url.
fn parse_url(url: &str) -> Option<url::Url> {
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "postgres" | "postgresql").then_some(parsed)
}

/// Checks the url's form; the reason never repeats the url or any part of
/// it a password could be in.
fn check_url(url: &str) -> Result<(), String> {
    let Some(parsed) = parse_url(url) else {
        return Err("expected postgres://user@host:port/database".to_owned());
    };
    if parsed.password().is_some() {
        return Err(
            "the url holds a password: remove it from the url and give it as store.password \
             = \"env:NAME\" or \"file:PATH\""
                .to_owned(),
        );
    }
    let refused: Vec<&(&str, &str)> = parsed
        .query_pairs()
        .filter_map(|(key, _)| {
            QUERY_KEYS_REFUSED
                .iter()
                .find(|(name, _)| key.eq_ignore_ascii_case(name))
        })
        .collect();
    // A password first: that is the one to move out of the url.
    if refused
        .iter()
        .any(|(name, _)| *name == "password" || *name == "passfile")
    {
        return Err(
            "the url holds a password: remove it from the url and give it as store.password \
             = \"env:NAME\" or \"file:PATH\""
                .to_owned(),
        );
    }
    if let Some((name, instead)) = refused.first() {
        return Err(format!(
            "the url's query sets {name}: use {instead} instead"
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("expected postgres://user@host:port/database (no host)".to_owned());
    }
    Ok(())
}

/// `HOST:PORT/DATABASE` of a url: no user name, no password, no query.
/// Anything that does not parse as a postgres url is shown as
/// `(not a postgres:// url)`.
pub fn describe_url(url: &str) -> String {
    let Some(parsed) = parse_url(url) else {
        return "(not a postgres:// url)".to_owned();
    };
    format!(
        "{}:{}/{}",
        parsed.host_str().unwrap_or_default(),
        parsed.port().unwrap_or(5432),
        parsed.path().trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::Config;

    fn problems(store: &str) -> String {
        let text = format!("[store]\n{store}");
        match Config::from_toml(&text) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn no_section_is_the_default_sqlite_file() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(
            config.store.location(),
            StoreLocation::Sqlite(Path::new(DEFAULT_STORE_PATH))
        );
    }

    #[test]
    fn path_alone_is_sqlite() {
        let config = Config::from_toml("[store]\npath = \"/srv/m.db\"\n").unwrap();
        assert_eq!(
            config.store.location(),
            StoreLocation::Sqlite(Path::new("/srv/m.db"))
        );
    }

    #[test]
    fn url_alone_is_postgres_with_defaults() {
        let text = "[store]\nurl = \"postgres://gw@db.internal:5432/modelgate\"\n\
                    password = \"env:PGPASS\"\n";
        let config = Config::from_toml(text).unwrap();
        assert_eq!(
            config.store.location(),
            StoreLocation::Postgres("postgres://gw@db.internal:5432/modelgate")
        );
        assert_eq!(config.store.ssl_mode(), "verify-full");
        assert_eq!(config.store.pool_size(), 16);
        assert_eq!(
            config.store.describe(),
            "postgresql db.internal:5432/modelgate"
        );
    }

    #[test]
    fn both_or_neither_is_an_error_naming_the_section() {
        let both = problems("path = \"m.db\"\nurl = \"postgres://gw@h/db\"\n");
        assert!(both.contains("[store]") && both.contains("both"), "{both}");
        let neither = problems("");
        assert!(
            neither.contains("[store]") && neither.contains("either"),
            "{neither}"
        );
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_echo() {
        for url in [
            "postgres://gw:s3cr3t-CANARY@h:5432/db",
            "postgresql://gw@h/db?sslmode=require&password=s3cr3t-CANARY",
            // An `@` in the query must not hide it in the "user info".
            "postgres://gw@h/db?password=s3cr3t@CANARY",
            // Nor an escaped key.
            "postgres://gw@h/db?pass%77ord=s3cr3t-CANARY",
            "postgres://gw@h/db?PASSWORD=s3cr3t-CANARY",
        ] {
            let err = problems(&format!("url = \"{url}\"\n"));
            assert!(
                err.contains("store.url") && err.contains("store.password"),
                "{url}: {err}"
            );
            assert!(!err.contains("CANARY"), "{err}");
        }
        // A `/` typed unescaped in a password makes no url at all: refused,
        // still without echo.
        let err = problems("url = \"postgres://gw:s3/cr?t@-CANARY@h:5432/db\"\n");
        assert!(
            err.contains("store.url") && !err.contains("CANARY"),
            "{err}"
        );
        // Query keys that would override the section's own are refused.
        for (query, instead) in [
            ("host=elsewhere", "url's host"),
            ("sslmode=disable", "store.sslmode"),
            ("sslrootcert=/tmp/x", "store.ca_file"),
        ] {
            let err = problems(&format!("url = \"postgres://gw@h/db?{query}\"\n"));
            assert!(err.contains(instead), "{query}: {err}");
        }
    }

    #[test]
    fn postgres_keys_are_checked() {
        let err = problems(
            "url = \"mysql://h/db\"\npassword = \"hunter2-CANARY\"\nsslmode = \"sometimes\"\n\
             max_connections = 0\n",
        );
        for field in [
            "store.url",
            "store.password",
            "store.sslmode",
            "store.max_connections",
        ] {
            assert!(err.contains(field), "{field}: {err}");
        }
        assert!(!err.contains("CANARY"), "{err}");
        let prefer = problems("url = \"postgres://gw@h/db\"\nsslmode = \"prefer\"\n");
        assert!(
            prefer.contains("store.sslmode") && prefer.contains("unencrypted"),
            "{prefer}"
        );
        let sqlite = problems("path = \"m.db\"\nsslmode = \"require\"\n");
        assert!(sqlite.contains("store.sslmode"), "{sqlite}");
    }

    #[test]
    fn debug_shows_no_secret() {
        let config = Config::parse(
            "[store]\nurl = \"postgres://gw:pw-CANARY@h:1/db\"\npassword = \"lit-CANARY\"\n",
        )
        .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("CANARY"), "{shown}");
        assert!(shown.contains("h:1/db"), "{shown}");
        // Not a url (an unescaped `/` in the password): nothing of it shown.
        assert_eq!(
            describe_url("postgres://gw:a/b?c@-CANARY@h:1/db?x=1"),
            "(not a postgres:// url)"
        );
    }

    #[test]
    fn relative_paths_resolve_from_the_configuration_directory() {
        let text = "[store]\nurl = \"postgres://gw@h/db\"\npassword = \"file:secrets/pg\"\n\
                    ca_file = \"tls/pg-ca.pem\"\n";
        let config = Config::from_toml_in(text, Path::new("/srv/gw")).unwrap();
        assert_eq!(
            config.store.password.as_deref(),
            Some("file:/srv/gw/secrets/pg")
        );
        assert_eq!(
            config.store.ca_file.as_deref(),
            Some(Path::new("/srv/gw/tls/pg-ca.pem"))
        );
    }
}
