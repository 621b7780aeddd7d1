//! `modelgate serve --dev`: a gateway that works with nothing installed and
//! no API key, in the spirit of `vault server -dev`. Throwaway store, the
//! built-in demo upstream (self-hosted, deterministic, both dialects,
//! streaming), a dev identity with a fresh key, and ready-to-paste exports.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use modelgate_config::Config;
use modelgate_identity::{IdentityKind, IdentityService, KeyEncryptionKey, KeyPolicy, NewIdentity};
use modelgate_mock::MockUpstream;
use modelgate_store::Store;
use modelgate_types::clock::unix_now;

/// The embedded configuration, pointed at the demo upstream.
fn dev_config(demo: &str) -> String {
    format!(
        r#"
[log]
format = "text"
level = "info"

[[upstreams]]
name = "demo-openai"
kind = "openai"
base_url = "{demo}/v1"
deployment = "self_hosted"
region = "local"
retention_days = 0
isolation = "technical"

[[upstreams]]
name = "demo-anthropic"
kind = "anthropic"
base_url = "{demo}"
deployment = "self_hosted"
region = "local"
retention_days = 0
isolation = "technical"

[[models]]
name = "demo-chat"
targets = [
  {{ upstream = "demo-openai", model = "demo-chat" }},
  {{ upstream = "demo-anthropic", model = "demo-chat" }},
]

[[models]]
name = "demo-embed"
targets = [{{ upstream = "demo-openai", model = "demo-embed" }}]
"#
    )
}

/// What `--dev` says about a configuration file it leaves unread: the
/// one named with `--config`/`MODELGATE_CONFIG`, else a `modelgate.toml`
/// in the working directory.
pub fn ignored_config_note(named: Option<&std::path::Path>) -> Option<String> {
    let path = crate::setup::config_path(named);
    (named.is_some() || path.exists()).then(|| {
        format!(
            "note: --dev ignores the configuration file {} (and its store): it runs on a \
             throwaway store with the demo upstream. Run without --dev to use it.",
            path.display()
        )
    })
}

/// Runs the dev gateway until interrupted; `named` is the configuration
/// file the command line named, which dev mode does not read.
pub async fn serve_dev(listen: Option<SocketAddr>, named: Option<&std::path::Path>) -> Result<()> {
    let note = ignored_config_note(named)
        .map(|note| format!("\n{note}"))
        .unwrap_or_default();
    let demo = MockUpstream::start()
        .await
        .context("cannot start the demo upstream")?;
    let config = Config::from_toml(&dev_config(&demo.base_url())).context("dev configuration")?;
    crate::serve::init_logging(&config.log);
    let dir = tempfile::Builder::new()
        .prefix("modelgate-dev-")
        .tempdir()
        .context("cannot create a throwaway store directory")?;
    let store = Store::open_sqlite(&dir.path().join("modelgate.db"))
        .await
        .context("cannot open the throwaway store")?;
    let identity = IdentityService::new(
        store.clone(),
        KeyPolicy {
            max_lifetime: config.keys.max_lifetime,
        },
    );
    let now = unix_now();
    identity
        .create_identity(
            NewIdentity {
                name: "dev-app".to_owned(),
                kind: IdentityKind::Service,
                owner: "you@localhost".to_owned(),
                environment: "dev".to_owned(),
                purpose: "modelgate serve --dev".to_owned(),
            },
            now,
        )
        .await?;
    let key = identity
        .issue_key(
            "dev-app",
            Duration::from_secs(24 * 3600),
            Some("dev".to_owned()),
            now,
        )
        .await?;
    let secret = key.secret.expose().to_owned();
    let listen = listen.or(Some(SocketAddr::from(([127, 0, 0, 1], 8080))));
    // Dev mode only: a fresh key-encryption key, kept in the throwaway
    // data directory beside the store it protects.
    let kek = KeyEncryptionKey::generate().context("cannot generate a key-encryption key")?;
    write_private(&dir.path().join("kek"), &kek.to_base64())?;
    let metrics_port = crate::serve::MetricsPort::EphemeralWhenTaken;
    let result = crate::serve::run(config, store, kek, listen, metrics_port, move |bound| {
        Some(format!(
            "{note}\nmodelgate dev mode: throwaway store, demo upstream, identity `dev-app` (expires in 24h).\n\
             Models: demo-chat (chat, completions, messages), demo-embed (embeddings).\n\n\
             export OPENAI_BASE_URL=http://{bound}/v1\n\
             export OPENAI_API_KEY={secret}\n\
             export ANTHROPIC_BASE_URL=http://{bound}\n\
             export ANTHROPIC_API_KEY={secret}\n\n\
             curl -s http://{bound}/v1/chat/completions \\\n  \
             -H \"Authorization: Bearer $OPENAI_API_KEY\" -H 'content-type: application/json' \\\n  \
             -d '{{\"model\":\"demo-chat\",\"messages\":[{{\"role\":\"user\",\"content\":\"hello\"}}]}}'\n"
        ))
    })
    .await;
    demo.shutdown().await;
    drop(dir);
    result
}

/// Writes `text` to a file only the owner may read.
fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .context("cannot write the dev key-encryption key")?;
    file.write_all(text.as_bytes())?;
    Ok(())
}
