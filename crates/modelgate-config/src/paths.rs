//! Relative paths in a configuration file mean paths beside that file, not
//! beside whatever directory the command happens to run in: every path
//! field, and every `file:` secret reference, is resolved from the file's
//! directory once, when the file is read.

use std::path::{Path, PathBuf};

use crate::{Config, ListenerTls};

impl Config {
    /// Makes every relative path of the document relative to `dir` (the
    /// configuration file's directory): `store.path`, `store.ca_file` and a
    /// `file:` `store.password`, `audit.file.dir`,
    /// `policy.dir` and `policy.shadow_dir`, the TLS files of
    /// `[server.tls]`, `[server.admin_tls]` and `[server.metrics_tls]`, each
    /// upstream's `ca_bundle` and `client_cert`, each issuer's `jwks_file`,
    /// and the `file:` secret references (`credential`, `client_key`,
    /// `tokens.kek`, `tokens.previous_keks`). Absolute paths and `env:`
    /// references are left as written.
    pub fn resolve_paths(&mut self, dir: &Path) {
        let at = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = dir.join(&*path);
            }
        };
        let secret = |reference: &mut String| {
            if let Some(path) = reference.strip_prefix("file:")
                && !path.is_empty()
                && Path::new(path).is_relative()
            {
                *reference = format!("file:{}", dir.join(path).display());
            }
        };
        self.store.resolve_paths(dir);
        if let Some(file) = &mut self.audit.file {
            at(&mut file.dir);
        }
        for path in [&mut self.policy.dir, &mut self.policy.shadow_dir]
            .into_iter()
            .flatten()
        {
            at(path);
        }
        for tls in [
            &mut self.server.tls,
            &mut self.server.admin_tls,
            &mut self.server.metrics_tls,
        ]
        .into_iter()
        .flatten()
        {
            let ListenerTls {
                cert,
                key,
                client_ca,
                ..
            } = tls;
            at(cert);
            at(key);
            if let Some(ca) = client_ca {
                at(ca);
            }
        }
        for upstream in &mut self.upstreams {
            for path in [&mut upstream.ca_bundle, &mut upstream.client_cert]
                .into_iter()
                .flatten()
            {
                at(path);
            }
            for reference in [&mut upstream.credential, &mut upstream.client_key]
                .into_iter()
                .flatten()
            {
                secret(reference);
            }
        }
        for issuer in &mut self.issuers {
            if let Some(path) = &mut issuer.jwks_file {
                at(path);
            }
        }
        if let Some(reference) = &mut self.tokens.kek {
            secret(reference);
        }
        for reference in &mut self.tokens.previous_keks {
            secret(reference);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::Config;

    #[test]
    fn relative_paths_resolve_from_the_configuration_directory() {
        let text = r#"
[store]
path = "state/modelgate.db"
[tokens]
kek = "file:secrets/kek"
previous_keks = ["env:OLD_KEK", "file:/abs/old"]
[policy]
dir = "policies"
shadow_dir = "/etc/candidate"
[audit.file]
dir = "audit"
[[upstreams]]
name = "o"
kind = "openai"
base_url = "https://api.openai.com/v1"
credential = "file:secrets/openai"
ca_bundle = "tls/ca.pem"
client_cert = "tls/client.pem"
client_key = "file:tls/client.key"
deployment = "hosted"
region = "us"
isolation = "contractual"
[[issuers]]
name = "k"
preset = "kubernetes"
issuer = "https://k.example"
audience = "a"
jwks_file = "k.jwks.json"
[[issuers.rules]]
identity = "x"
claims = { sub = "s" }
"#;
        let mut config = Config::parse(text).unwrap();
        config.resolve_paths(Path::new("/srv/gw"));
        assert_eq!(
            config.store.path.as_deref(),
            Some(Path::new("/srv/gw/state/modelgate.db"))
        );
        assert_eq!(
            config.tokens.kek.as_deref(),
            Some("file:/srv/gw/secrets/kek")
        );
        assert_eq!(
            config.tokens.previous_keks,
            ["env:OLD_KEK", "file:/abs/old"]
        );
        assert_eq!(
            config.policy.dir.as_deref(),
            Some(Path::new("/srv/gw/policies"))
        );
        assert_eq!(
            config.policy.shadow_dir.as_deref(),
            Some(Path::new("/etc/candidate"))
        );
        assert_eq!(config.audit.file.unwrap().dir, Path::new("/srv/gw/audit"));
        let upstream = &config.upstreams[0];
        assert_eq!(
            upstream.credential.as_deref(),
            Some("file:/srv/gw/secrets/openai")
        );
        assert_eq!(
            upstream.ca_bundle.as_deref(),
            Some(Path::new("/srv/gw/tls/ca.pem"))
        );
        assert_eq!(
            upstream.client_cert.as_deref(),
            Some(Path::new("/srv/gw/tls/client.pem"))
        );
        assert_eq!(
            upstream.client_key.as_deref(),
            Some("file:/srv/gw/tls/client.key")
        );
        assert_eq!(
            config.issuers[0].jwks_file.as_deref(),
            Some(Path::new("/srv/gw/k.jwks.json"))
        );
    }

    #[test]
    fn listener_tls_files_resolve_too() {
        let text = "[server]\nlisten = \"127.0.0.1:8443\"\n[server.tls]\ncert = \"tls/c.pem\"\n\
                    key = \"tls/k.pem\"\nclient_auth = \"optional\"\nclient_ca = \"tls/ca.pem\"\n";
        let mut config = Config::parse(text).unwrap();
        config.resolve_paths(Path::new("/srv/gw"));
        let tls = config.server.tls.unwrap();
        assert_eq!(tls.cert, Path::new("/srv/gw/tls/c.pem"));
        assert_eq!(tls.key, Path::new("/srv/gw/tls/k.pem"));
        assert_eq!(
            tls.client_ca.as_deref(),
            Some(Path::new("/srv/gw/tls/ca.pem"))
        );
    }
}
