//! What commands open first: the configuration, the key-encryption key
//! and the store.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use modelgate_config::{Config, SSL_MODES, SecretError, SecretRef, StoreLocation};
use modelgate_identity::{IdentityService, KeyEncryptionKey, KeyPolicy};
use modelgate_store::{PostgresOptions, SchemaPolicy, SqliteOptions, SslMode, Store, StoreError};

/// The key-encryption key named by `tokens.kek`, also accepting the
/// earlier KEKs named by `tokens.previous_keks` for opening (a KEK rotation
/// under way). Errors name the field, never the value.
pub fn load_kek(config: &Config) -> Result<KeyEncryptionKey> {
    let Some(reference) = &config.tokens.kek else {
        bail!(
            "tokens.kek is required: create one with `modelgate kek generate`, store it as a \
             secret, and reference it as tokens.kek = \"env:NAME\" or \"file:PATH\""
        );
    };
    let current = read_kek(reference, "tokens.kek")?;
    let previous = config
        .tokens
        .previous_keks
        .iter()
        .enumerate()
        .map(|(i, reference)| read_kek(reference, &format!("tokens.previous_keks[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    Ok(current.with_previous(previous))
}

/// One KEK from the secret reference in `field`.
fn read_kek(reference: &str, field: &str) -> Result<KeyEncryptionKey> {
    let reference = SecretRef::parse(reference).map_err(|e| anyhow!("{field}: {e}"))?;
    let value = reference.resolve().map_err(|e| match e {
        SecretError::Unusable(from) => anyhow!(
            "{field}: the key from {from} is empty or holds characters other than printable \
             ASCII: expected 64 hexadecimal characters or the base64 of 32 bytes, as \
             `modelgate kek generate` prints"
        ),
        other => anyhow!("{field}: {other}"),
    })?;
    KeyEncryptionKey::parse(value.expose()).map_err(|e| anyhow!("{field}: {e}"))
}

/// The configuration file used when neither `--config` nor
/// `MODELGATE_CONFIG` names one.
pub const DEFAULT_CONFIG: &str = "modelgate.toml";

/// The configuration file a command reads: the one named, else
/// [`DEFAULT_CONFIG`] in the working directory.
pub fn config_path(named: Option<&Path>) -> PathBuf {
    named.map_or_else(|| PathBuf::from(DEFAULT_CONFIG), Path::to_path_buf)
}

/// Reads and validates the configuration file; relative paths in it are
/// taken from the file's directory. A missing file is an error: a command
/// never falls back to a store in whatever directory it runs in.
pub fn load_config(named: Option<&Path>) -> Result<Config> {
    let (path, text) = read_config(named)?;
    Config::from_toml_in(&text, &config_dir(&path))
        .with_context(|| format!("invalid configuration {}", path.display()))
}

/// The configuration file's path and text; a missing file is an error
/// that says where it was looked for and what to do.
pub fn read_config(named: Option<&Path>) -> Result<(PathBuf, String)> {
    let path = config_path(named);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((path, text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("{}", not_found(named)),
        Err(e) => {
            Err(e).with_context(|| format!("cannot read configuration file {}", path.display()))
        }
    }
}

/// Reads the configuration like [`load_config`]; for the commands that
/// touch no store (policy checks and tests, offline verification), no
/// file at the default path means the defaults. A file named with
/// `--config` or `MODELGATE_CONFIG` must exist.
pub fn load_config_or_default(named: Option<&Path>) -> Result<Config> {
    if named.is_none() && !Path::new(DEFAULT_CONFIG).exists() {
        return Ok(Config::default());
    }
    load_config(named)
}

/// The directory relative paths in the configuration file at `path` are
/// read from (absolute, so messages name the real place).
pub fn config_dir(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::path::absolute(&dir).unwrap_or(dir)
}

/// What to say when the configuration file is missing.
fn not_found(named: Option<&Path>) -> String {
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "the current directory".to_owned());
    match named {
        Some(path) => format!(
            "configuration file {} not found (the working directory is {cwd})",
            path.display()
        ),
        None => format!(
            "no configuration file: {DEFAULT_CONFIG} not found in {cwd}; pass --config FILE \
             or set MODELGATE_CONFIG (relative paths inside it are read from its directory), \
             or try the gateway without one with `modelgate serve --dev`"
        ),
    }
}

/// Opens the configured store: a new one is migrated; an existing one
/// whose schema is behind or ahead of this binary is refused, naming
/// `modelgate migrate` (only that command changes an existing schema).
pub async fn open_store(config: &Config) -> Result<Store> {
    open_store_as(config, SchemaPolicy::RequireCurrent)
        .await
        .with_context(|| format!("cannot open store {}", config.store.describe()))
}

/// Opens the configured store (the SQLite file, or the PostgreSQL
/// database when `store.url` is set), migrating as `policy` allows. The
/// error is the store's own (callers name the store), or a `[store]`
/// field that cannot be used (the password reference, the CA file).
pub async fn open_store_as(config: &Config, policy: SchemaPolicy) -> Result<Store> {
    Ok(match config.store.location() {
        StoreLocation::Sqlite(path) => {
            Store::open_sqlite_as(path, &SqliteOptions::default(), policy).await?
        }
        StoreLocation::Postgres(url) => {
            let options = postgres_options(config, url)?;
            Store::open_postgres(&options, policy)
                .await
                .map_err(|e| explain_postgres_error(e, options.ssl_mode))?
        }
    })
}

/// Opens the configured store read-only, for a check that must not change
/// it: `None` when it is a SQLite file that does not exist yet (a
/// PostgreSQL database always exists; a fresh one is a store whose schema
/// is behind, [`modelgate_store::StoreError::SchemaBehind`]).
pub async fn open_store_read_only(config: &Config) -> Result<Option<Store>> {
    Ok(Some(match config.store.location() {
        StoreLocation::Sqlite(path) if !path.exists() => return Ok(None),
        StoreLocation::Sqlite(path) => Store::open_sqlite_read_only(path).await?,
        StoreLocation::Postgres(url) => {
            let options = postgres_options(config, url)?;
            Store::open_postgres_read_only(&options)
                .await
                .map_err(|e| explain_postgres_error(e, options.ssl_mode))?
        }
    }))
}

/// A failed connection, with what to check when it failed in the TLS
/// handshake: the driver reports a server certificate it does not trust
/// as an I/O error (`invalid data`). The store's error stays the source.
fn explain_postgres_error(error: StoreError, ssl_mode: SslMode) -> anyhow::Error {
    let tls = matches!(
        ssl_mode,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
    );
    let handshake = matches!(
        &error,
        StoreError::Backend { message, .. }
            if message == "TLS error" || message.ends_with("I/O error: invalid data")
    );
    if !(tls && handshake) {
        return error.into();
    }
    anyhow::Error::new(error).context(format!(
        "TLS error with the PostgreSQL server (store.sslmode = {}): check that \
         store.ca_file holds the CA that signed the server's certificate{}",
        ssl_mode.as_str(),
        if ssl_mode == SslMode::VerifyFull {
            " and that the certificate names the url's host"
        } else {
            ""
        }
    ))
}

/// The PostgreSQL connection `[store]` describes, its password read from
/// the `store.password` reference. Errors name the field, never a value.
pub fn postgres_options(config: &Config, url: &str) -> Result<PostgresOptions> {
    let store = &config.store;
    let mut options = PostgresOptions::new(url);
    options.ssl_mode = SslMode::parse(store.ssl_mode())
        .ok_or_else(|| anyhow!("store.sslmode: expected one of {}", SSL_MODES.join(", ")))?;
    options.max_connections = store.pool_size();
    if let Some(reference) = &store.password {
        let reference = SecretRef::parse(reference).map_err(|e| anyhow!("store.password: {e}"))?;
        let value = reference
            .resolve()
            .map_err(|e| anyhow!("store.password: {e}"))?;
        options.password = Some(value.expose().to_owned());
    }
    if let Some(ca) = &store.ca_file {
        std::fs::File::open(ca)
            .map_err(|e| anyhow!("store.ca_file: cannot read {}: {}", ca.display(), e.kind()))?;
        options.ca_file = Some(ca.clone());
    }
    Ok(options)
}

/// The identity service over the configured store.
pub async fn open_identity(config: &Config) -> Result<IdentityService> {
    let store = open_store(config).await?;
    Ok(IdentityService::new(
        store,
        KeyPolicy {
            max_lifetime: config.keys.max_lifetime,
        },
    ))
}
