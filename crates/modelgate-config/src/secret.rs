//! Secret references (`env:NAME`, `file:PATH`) and the values they resolve to.
//!
//! A resolved value prints as `[redacted]` in every `Debug` and `Display`, so
//! it cannot reach a log line by accident.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a secret comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable.
    Env(String),
    /// A file whose content (trailing newline removed) is the secret.
    File(PathBuf),
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

/// Why a secret could not be resolved. Never holds the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is not set or not Unicode.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The file could not be read.
    #[error("cannot read secret file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// The I/O error kind.
        reason: String,
    },
    /// The value is empty or holds characters other than printable ASCII
    /// (what a header, a key or a token can carry).
    #[error("secret from {0} is empty or holds characters other than printable ASCII")]
    Unusable(String),
}

impl SecretRef {
    /// Parses a reference. A string without `env:` or `file:` is refused as a
    /// literal secret; the error never repeats the input.
    pub fn parse(text: &str) -> Result<SecretRef, String> {
        if let Some(name) = text.strip_prefix("env:") {
            let ok =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if ok {
                return Ok(SecretRef::Env(name.to_owned()));
            }
            return Err("env: must be followed by a variable name (A-Z, 0-9, _)".to_owned());
        }
        if let Some(path) = text.strip_prefix("file:") {
            if path.is_empty() {
                return Err("file: must be followed by a path".to_owned());
            }
            return Ok(SecretRef::File(PathBuf::from(path)));
        }
        Err("literal secrets are not allowed in the config; use env:NAME or file:PATH".to_owned())
    }

    /// Reads the secret now.
    pub fn resolve(&self) -> Result<SecretValue, SecretError> {
        let value = match self {
            SecretRef::Env(name) => {
                std::env::var(name).map_err(|_| SecretError::MissingEnv(name.clone()))?
            }
            SecretRef::File(path) => {
                std::fs::read_to_string(path).map_err(|e| SecretError::File {
                    path: path.display().to_string(),
                    reason: e.kind().to_string(),
                })?
            }
        };
        let value = value.trim_end_matches(['\n', '\r']).to_owned();
        let printable = value.bytes().all(|b| (0x21..0x7f).contains(&b));
        if value.is_empty() || !printable {
            return Err(SecretError::Unusable(format!("{self:?}")));
        }
        Ok(SecretValue(Arc::from(value)))
    }
}

/// A resolved secret. Cheap to clone; never printed.
#[derive(Clone)]
pub struct SecretValue(Arc<str>);

impl SecretValue {
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        assert_eq!(
            SecretRef::parse("env:OPENAI_KEY").unwrap(),
            SecretRef::Env("OPENAI_KEY".into())
        );
        assert_eq!(
            SecretRef::parse("file:/run/k").unwrap(),
            SecretRef::File("/run/k".into())
        );
        assert!(SecretRef::parse("env:").is_err());
        assert!(SecretRef::parse("env:A-B").is_err());
        assert!(SecretRef::parse("file:").is_err());
        let err = SecretRef::parse("sk-CANARY").unwrap_err();
        assert!(!err.contains("CANARY"));
    }

    #[test]
    fn resolve_file_trims_newline_and_redacts() {
        let dir = std::env::temp_dir().join(format!("mg-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k");
        std::fs::write(&path, "sk-CANARY123\n").unwrap();
        let value = SecretRef::File(path.clone()).resolve().unwrap();
        assert_eq!(value.expose(), "sk-CANARY123");
        assert_eq!(format!("{value:?} {value}"), "[redacted] [redacted]");
        std::fs::write(&path, "bad value\n").unwrap();
        let err = SecretRef::File(path).resolve().unwrap_err().to_string();
        assert!(!err.contains("bad value"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_env_is_an_error() {
        let err = SecretRef::Env("MODELGATE_TEST_SURELY_UNSET".into())
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("MODELGATE_TEST_SURELY_UNSET"));
    }
}
