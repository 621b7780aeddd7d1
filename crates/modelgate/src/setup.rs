//! What commands open first: the configuration, the key-encryption key
//! and the store.

use std::path::Path;

use anyhow::{Context, Result, bail};
use modelgate_config::{Config, SecretRef};
use modelgate_identity::{IdentityService, KeyEncryptionKey, KeyPolicy};
use modelgate_store::Store;

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
    let reference = SecretRef::parse(reference).map_err(|e| anyhow::anyhow!("{field}: {e}"))?;
    let value = reference.resolve().with_context(|| field.to_owned())?;
    KeyEncryptionKey::parse(value.expose()).map_err(|e| anyhow::anyhow!("{field}: {e}"))
}

/// Reads and validates the configuration file.
pub fn load_config(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration file {}", path.display()))?;
    Config::from_toml(&text).with_context(|| format!("invalid configuration {}", path.display()))
}

/// Reads the configuration if the file exists, else the defaults.
pub fn load_config_or_default(path: &Path) -> Result<Config> {
    if path.exists() {
        load_config(path)
    } else {
        Ok(Config::default())
    }
}

/// Opens the configured store.
pub async fn open_store(config: &Config) -> Result<Store> {
    Store::open_sqlite(&config.store.path)
        .await
        .with_context(|| format!("cannot open store {}", config.store.path.display()))
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
