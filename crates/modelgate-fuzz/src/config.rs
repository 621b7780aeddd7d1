//! `config_toml`: the gateway's TOML configuration, parsed and validated as
//! `modelgate config check` and the start do.

use modelgate_config::Config;

/// Parses and validates `data` as the configuration; a valid one must also
/// yield its role catalog or a clean error.
pub fn config_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::from_toml(text) else {
        return;
    };
    let _ = config.role_catalog();
}
