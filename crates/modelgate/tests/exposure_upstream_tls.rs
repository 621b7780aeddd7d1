//! Issue 15, TLS toward upstreams, through the live gateway: an upstream
//! behind a private CA works with its `ca_bundle` and is refused, naming
//! it, without; a server that requires mutual TLS accepts the gateway's
//! `client_cert` and refuses a gateway without one; bad TLS paths and
//! plain http beyond loopback are configuration errors (`config check` and
//! start), decided from the configuration alone. The client key never
//! reaches a log line or an error.
//!
//! Every upstream here is the mock behind a TLS front on 127.0.0.1; the
//! only non-loopback address (10.1.2.3) is written in a configuration that
//! is refused before anything connects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::pki::Ca;
use common::tls::{TlsFront, write};
use common::*;
use serde_json::Value;

/// One upstream `name` at `base_url` (with `tls` lines) and a model of the
/// same name routed to it.
fn upstream(name: &str, base_url: &str, tls: &str) -> String {
    format!(
        "\n[[upstreams]]\nname = \"{name}\"\nkind = \"openai\"\nbase_url = \"{base_url}/v1\"\n\
         credential = \"env:MG_TEST_UPSTREAM_KEY\"\ndeployment = \"self_hosted\"\n\
         region = \"local\"\nisolation = \"technical\"\n{tls}\n\n\
         [[models]]\nname = \"{name}\"\ntargets = [{{ upstream = \"{name}\", model = \"demo-chat\" }}]\n"
    )
}

/// A TOML string holding `path`.
fn quoted(path: &Path) -> String {
    format!("{:?}", path.to_str().unwrap())
}

/// The audit records of requests for `model`, once one has `fallbacks`
/// or `status` set (complete records land just after the response).
async fn request_record(gw: &TestGateway, model: &str) -> Value {
    for _ in 0..100 {
        let out = gw.cli(&[
            "audit", "search", "--kind", "request", "--model", model, "--format", "json",
            "--limit", "1000",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let found = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|r| r["event"]["request"]["status"].is_u64());
        if let Some(record) = found {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no complete audit record for {model}");
}

/// The server events of a streamed chat answer.
async fn stream_chat(gw: &TestGateway, model: &str) -> (u16, String) {
    let reply = gw.openai("/v1/chat/completions", &chat(model, true)).await;
    (reply.status.as_u16(), reply.text())
}

#[tokio::test]
async fn a_private_ca_bundle_is_trusted_and_without_it_the_upstream_is_refused_by_name() {
    let mock = MockUpstream::start().await.unwrap();
    let ca = Ca::new("private model CA");
    let front = TlsFront::start(&ca.server("test upstream"), None, mock.addr()).await;
    let pki = tempfile::tempdir().unwrap();
    let bundle = ca.write(pki.path(), "ca.pem");
    let other_bundle = Ca::new("some other CA").write(pki.path(), "other.pem");
    let base = front.base_url();
    let config = [
        upstream(
            "private",
            &base,
            &format!("ca_bundle = {}", quoted(&bundle)),
        ),
        upstream("public-roots", &base, ""),
        upstream(
            "wrong-ca",
            &base,
            &format!("ca_bundle = {}", quoted(&other_bundle)),
        ),
    ]
    .concat();
    let gw = TestGateway::start(&config).await;

    // With the bundle: plain and streamed chat pass through the front.
    let reply = gw
        .openai("/v1/chat/completions", &chat("private", false))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.json()["choices"][0]["message"]["content"].is_string());
    let (status, events) = stream_chat(&gw, "private").await;
    assert_eq!(status, 200, "{events}");
    assert!(events.contains("data: [DONE]"), "{events}");
    assert_eq!(front.failed(), 0);

    // The public web roots do not trust the private CA, nor does another
    // private CA: a 502 naming the upstream, in the caller's dialect.
    for model in ["public-roots", "wrong-ca"] {
        let reply = gw.openai("/v1/chat/completions", &chat(model, false)).await;
        assert_eq!(reply.status, 502, "{}", reply.text());
        assert_eq!(
            reply.json()["error"]["message"],
            format!("upstream '{model}': TLS certificate not trusted")
        );
        let record = request_record(&gw, model).await;
        let request = &record["event"]["request"];
        assert_eq!(request["status"], 502, "{record}");
        assert_eq!(
            request["fallbacks"],
            serde_json::json!([[model, "tls"]]),
            "{record}"
        );
    }
    let reply = gw.anthropic(&messages("public-roots", false)).await;
    assert_eq!(reply.status, 502, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(
        body["error"]["message"],
        "upstream 'public-roots': TLS certificate not trusted"
    );
    assert!(front.failed() >= 3, "the front saw the refused handshakes");
    let logs = gw.logs();
    assert!(
        logs.contains("TLS certificate not trusted")
            && logs.contains("public-roots")
            && logs.contains("invalid peer certificate"),
        "the log gives the upstream and rustls's reason: {logs}"
    );
    assert!(!logs.contains(UPSTREAM_CANARY));
}

#[tokio::test]
async fn mutual_tls_shows_the_client_certificate_and_a_gateway_without_one_is_refused() {
    let mock = MockUpstream::start().await.unwrap();
    let server_ca = Ca::new("model server CA");
    let client_ca = Ca::new("gateway client CA");
    let front = TlsFront::start(
        &server_ca.server("test upstream"),
        Some(&client_ca),
        mock.addr(),
    )
    .await;
    let pki = tempfile::tempdir().unwrap();
    let bundle = server_ca.write(pki.path(), "server-ca.pem");
    let client = client_ca.plain_client("modelgate");
    let cert = write(pki.path(), "client.pem", &client.cert_pem);
    let key = write(pki.path(), "client.key", &client.key_pem);
    let stranger = Ca::new("stranger CA").plain_client("modelgate");
    let stranger_cert = write(pki.path(), "stranger.pem", &stranger.cert_pem);
    let stranger_key = write(pki.path(), "stranger.key", &stranger.key_pem);
    let base = front.base_url();
    let tls = |cert: &Path, key: &Path| {
        format!(
            "ca_bundle = {}\nclient_cert = {}\nclient_key = \"file:{}\"",
            quoted(&bundle),
            quoted(cert),
            key.display()
        )
    };
    let config = [
        upstream("mtls", &base, &tls(&cert, &key)),
        upstream(
            "no-cert",
            &base,
            &format!("ca_bundle = {}", quoted(&bundle)),
        ),
        upstream("stranger", &base, &tls(&stranger_cert, &stranger_key)),
    ]
    .concat();
    let gw = TestGateway::start(&config).await;

    let reply = gw
        .openai("/v1/chat/completions", &chat("mtls", false))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let (status, events) = stream_chat(&gw, "mtls").await;
    assert_eq!(status, 200, "{events}");
    assert!(events.contains("data: [DONE]"), "{events}");
    assert_eq!(front.failed(), 0);

    for model in ["no-cert", "stranger"] {
        let reply = gw.openai("/v1/chat/completions", &chat(model, false)).await;
        assert_eq!(reply.status, 502, "{}", reply.text());
        assert_eq!(
            reply.json()["error"]["message"],
            format!(
                "upstream '{model}': the upstream refused the gateway's TLS client certificate"
            )
        );
        let record = request_record(&gw, model).await;
        assert_eq!(
            record["event"]["request"]["fallbacks"],
            serde_json::json!([[model, "tls"]]),
            "{record}"
        );
        assert!(!reply.text().contains("BEGIN"));
    }
    assert!(front.failed() >= 2, "the front refused both handshakes");

    // The client keys appear nowhere: not in the log, not in a record.
    let logs = gw.logs();
    let out = gw.cli(&["audit", "search", "--format", "json", "--limit", "1000"]);
    let audit = stdout(&out);
    for pem in [&client.key_pem, &stranger.key_pem] {
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!logs.contains(line), "a client key line reached the log");
            assert!(!audit.contains(line), "a client key line reached the audit");
        }
    }
}

/// A gateway configuration file in `dir` with `body` and the test KEK
/// (listening on an ephemeral port, should `serve` get that far).
fn config_file(dir: &Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("modelgate.toml");
    let text = format!(
        "{}\n[server]\nlisten = \"127.0.0.1:0\"\n\n{TOKENS_SECTION}{body}",
        store_section(dir, "modelgate.db")
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `config check` and `serve` on `body`; both must fail, and their
/// error must contain every one of `needles` and never `canary`.
fn refused(dir: &Path, body: &str, needles: &[&str], canary: Option<&str>) {
    let config = config_file(dir, body);
    for args in [&["config", "check"][..], &["serve"][..]] {
        let out = cli_at(&config, args);
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?} accepted {body}");
        for needle in needles {
            assert!(err.contains(needle), "{args:?}: {needle:?} not in {err}");
        }
        if let Some(canary) = canary {
            assert!(!err.contains(canary), "{args:?} echoed the key: {err}");
        }
    }
}

#[test]
fn bad_tls_files_fail_config_check_and_start_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("private model CA");
    let bundle = ca.write(dir.path(), "ca.pem");
    let client = ca.plain_client("modelgate");
    let cert = write(dir.path(), "client.pem", &client.cert_pem);
    let key = write(dir.path(), "client.key", &client.key_pem);
    let missing = dir.path().join("missing.pem");
    let not_pem = write(dir.path(), "not.pem", "not a certificate\n");
    let canary = "CANARY-client-key-7d1e";
    let bad_key = write(
        dir.path(),
        "bad.key",
        &format!("-----BEGIN PRIVATE KEY-----\n{canary}\n-----END PRIVATE KEY-----\n"),
    );
    let base = "https://127.0.0.1:9";
    let with = |tls: String| upstream("private", base, &tls);
    let mtls = |bundle: &Path, cert: &Path, key: &str| {
        with(format!(
            "ca_bundle = {}\nclient_cert = {}\nclient_key = \"{key}\"",
            quoted(bundle),
            quoted(cert)
        ))
    };
    let key_ref = format!("file:{}", key.display());

    // The good configuration passes, so each failure below is its field's.
    let good = config_file(dir.path(), &mtls(&bundle, &cert, &key_ref));
    ok(cli_at(&good, &["config", "check"]));

    let cases: [(String, &[&str]); 7] = [
        (
            mtls(&missing, &cert, &key_ref),
            &["upstream private", "ca_bundle", "missing.pem"],
        ),
        (
            mtls(&not_pem, &cert, &key_ref),
            &["upstream private", "ca_bundle", "no PEM certificate"],
        ),
        (
            mtls(&bundle, &missing, &key_ref),
            &["upstream private", "client_cert", "missing.pem"],
        ),
        (
            mtls(
                &bundle,
                &cert,
                &format!("file:{}", dir.path().join("missing.key").display()),
            ),
            &["upstream private", "client_key", "missing.key"],
        ),
        (
            mtls(&bundle, &cert, &format!("file:{}", bad_key.display())),
            &["upstream private", "client_key", "no PEM private key"],
        ),
        (
            mtls(&bundle, &cert, "env:MG_SURELY_UNSET_CLIENT_KEY"),
            &[
                "upstream private",
                "client_key",
                "MG_SURELY_UNSET_CLIENT_KEY",
            ],
        ),
        (
            // A key that is not the certificate's.
            mtls(
                &bundle,
                &cert,
                &format!(
                    "file:{}",
                    write(dir.path(), "other.key", &ca.plain_client("x").key_pem).display()
                ),
            ),
            &["upstream private", "client_key", "client_cert"],
        ),
    ];
    for (body, needles) in &cases {
        refused(dir.path(), body, needles, Some(canary));
    }
    // A literal key in the file is refused without being echoed.
    refused(
        dir.path(),
        &mtls(&bundle, &cert, canary),
        &["upstreams[private].client_key", "literal secrets"],
        Some(canary),
    );
}

#[test]
fn plain_http_beyond_loopback_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    // Refused from the text alone: nothing resolves or connects to it.
    let far = upstream("far", "http://10.1.2.3:8000", "");
    refused(
        dir.path(),
        &far,
        &["upstreams[far].base_url", "10.1.2.3", "allow_plaintext"],
        None,
    );
    let named = upstream(
        "named",
        "http://vllm.internal:8000",
        "allow_plaintext = false",
    );
    refused(
        dir.path(),
        &named,
        &["upstreams[named].base_url", "allow_plaintext"],
        None,
    );
    // TLS files make no sense over plain http.
    let mixed = upstream(
        "mixed",
        "http://127.0.0.1:9",
        "ca_bundle = \"/nonexistent/ca.pem\"",
    );
    refused(
        dir.path(),
        &mixed,
        &["upstreams[mixed].ca_bundle", "https://"],
        None,
    );

    // Opted in, or on loopback: accepted (config check opens nothing).
    let allowed = upstream("far", "http://10.1.2.3:8000", "allow_plaintext = true");
    let config = config_file(dir.path(), &allowed);
    assert!(ok(cli_at(&config, &["config", "check"])).contains("OK"));
    for base in [
        "http://127.0.0.1:9",
        "http://127.3.2.1:9",
        "http://localhost:9",
        "http://[::1]:9",
    ] {
        let config = config_file(dir.path(), &upstream("near", base, ""));
        ok(cli_at(&config, &["config", "check"]));
    }
}
