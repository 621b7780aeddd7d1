//! Issue 15, TLS on the gateway's own listener and mTLS, through the live
//! gateway: `[server.tls]` serves chat over HTTPS (TLS 1.2+; plain HTTP and
//! a TLS 1.1 hello get no answer); a workload with an X.509-SVID from the
//! configured client CA calls a model with no other credential (the audit
//! record says `mtls` and the mapped identity); a certificate from another
//! CA is refused at the handshake; a certificate without a SPIFFE ID, or
//! one whose SPIFFE ID no rule maps, gets 401 and spends the source's
//! failed-authentication budget; the certificate and key files are
//! reloaded when they change; bad files fail `config check` and start
//! naming the field; no private key reaches a log line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::pki::{Ca, HttpsClient, Leaf, common_name};
use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MODELS: &str =
    "[[models]]\nname = \"chat\"\ntargets = [{ upstream = \"m-openai\", model = \"demo-chat\" }]\n";

/// The SPIFFE ID of the billing workload, and the rule that maps it.
const BILLING: &str = "spiffe://example.org/ns/prod/sa/billing";
const SPIFFE_ISSUER: &str = "\n[[issuers]]\nname = \"spire\"\npreset = \"spiffe\"\n\
    issuer = \"https://spire.example.org\"\naudience = \"modelgate\"\n\
    [[issuers.rules]]\nidentity = \"billing\"\n\
    claims = { sub = \"spiffe://example.org/ns/prod/sa/billing\" }\n";

/// A TOML string holding `path`.
fn quoted(path: &Path) -> String {
    format!("{:?}", path.to_str().unwrap())
}

/// The listener's files, written in a directory of their own.
struct Pki {
    dir: tempfile::TempDir,
    ca: Ca,
    cert: PathBuf,
    key: PathBuf,
    client_ca: PathBuf,
    /// The server key, to look for in the logs.
    server_key: String,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new("modelgate test CA");
        let server = ca.server("first listener certificate");
        let cert = dir.path().join("server.crt");
        let key = dir.path().join("server.key");
        std::fs::write(&cert, &server.cert_pem).unwrap();
        std::fs::write(&key, &server.key_pem).unwrap();
        let client_ca = ca.write(dir.path(), "clients.pem");
        Pki {
            dir,
            ca,
            cert,
            key,
            client_ca,
            server_key: server.key_pem,
        }
    }

    /// The `[server] tls` line: `client_auth` off, optional or required.
    fn server_lines(&self, client_auth: &str) -> String {
        let ca = if client_auth == "off" {
            String::new()
        } else {
            format!(", client_ca = {}", quoted(&self.client_ca))
        };
        format!(
            "tls = {{ cert = {}, key = {}, client_auth = \"{client_auth}\", reload_interval = \"1s\"{ca} }}\n",
            quoted(&self.cert),
            quoted(&self.key)
        )
    }
}

/// A TLS gateway with model `chat`, the SPIFFE issuer and `extra` TOML;
/// identity `billing` exists (with a key, returned).
async fn setup(pki: &Pki, client_auth: &str, extra: &str) -> (MockHandle, TestGateway, String) {
    let mock = MockUpstream::start().await.unwrap();
    let body = format!(
        "{extra}\n{}\n{MODELS}\n{SPIFFE_ISSUER}",
        upstreams_on(&mock, "m", "")
    );
    let gw = TestGateway::start_with_server(&pki.server_lines(client_auth), &body).await;
    let billing_key = gw.new_identity("billing", "service", "prod");
    (mock, gw, billing_key)
}

async fn chat_with(
    client: &HttpsClient,
    addr: SocketAddr,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    client
        .call(
            addr,
            "POST",
            "/v1/chat/completions",
            &all,
            chat("chat", false).to_string(),
        )
        .await
}

/// The complete audit record of a chat request by `identity`.
async fn record_of(gw: &TestGateway, identity: &str) -> Value {
    for _ in 0..100 {
        let out = gw.cli(&[
            "audit", "search", "--kind", "request", "--model", "chat", "--format", "json",
            "--limit", "1000",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let found = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|r| {
                r["event"]["request"]["identity"] == identity
                    && r["event"]["request"]["status"].is_u64()
            });
        if let Some(record) = found {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no complete audit record for {identity}");
}

/// No PEM key body of `keys` appears in `text`.
fn assert_no_key(text: &str, keys: &[&str]) {
    for key in keys {
        for line in key.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(line), "a private key line leaked");
        }
    }
}

/// The first bytes a server sends back to `bytes` on a fresh connection
/// (one read; empty when it closes or says nothing within 5 s).
async fn raw_answer(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    let mut buf = [0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await {
        Ok(Ok(n)) => buf[..n].to_vec(),
        _ => Vec::new(),
    }
}

/// A ClientHello with legacy version `version` (`[3, 2]`: TLS 1.1, `[3,
/// 3]`: TLS 1.2) and no `supported_versions` extension, offering ECDHE
/// suites with AES-GCM and what they need (groups, point formats,
/// signature schemes), so a server that speaks the version answers it.
fn client_hello(version: [u8; 2]) -> Vec<u8> {
    let mut extensions = Vec::new();
    // supported_groups: x25519, secp256r1.
    extensions.extend_from_slice(&[0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]);
    // ec_point_formats: uncompressed.
    extensions.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    // signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256,
    // rsa_pkcs1_sha256.
    extensions.extend_from_slice(&[
        0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01,
    ]);
    let mut body = version.to_vec();
    body.extend_from_slice(&[7u8; 32]);
    body.push(0); // session id
    // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.
    body.extend_from_slice(&[0x00, 0x04, 0xc0, 0x2b, 0xc0, 0x2f]);
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);
    let mut handshake = vec![0x01, 0x00];
    handshake.extend_from_slice(&(body.len() as u16).to_be_bytes());
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[tokio::test]
async fn the_tls_listener_serves_chat_and_refuses_plain_http_and_tls_1_1() {
    let pki = Pki::new();
    let (_mock, gw, _) = setup(&pki, "off", "").await;
    let client = HttpsClient::new(&pki.ca, None);
    let auth = format!("Bearer {}", gw.key);
    let r = chat_with(&client, gw.addr, &[("authorization", &auth)])
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        gw.logs()
            .contains(&format!("listening on https://{}", gw.addr))
    );

    let plain = raw_answer(
        gw.addr,
        b"GET /v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer x\r\n\r\n",
    )
    .await;
    assert!(
        !plain.starts_with(b"HTTP/"),
        "plain HTTP was answered in HTTP"
    );
    // The same hello as TLS 1.2 gets a ServerHello (a handshake record);
    // as TLS 1.1, a protocol_version alert (70) and nothing else.
    let tls12 = raw_answer(gw.addr, &client_hello([3, 3])).await;
    assert_eq!(tls12.first(), Some(&0x16), "{tls12:?}");
    let tls11 = raw_answer(gw.addr, &client_hello([3, 2])).await;
    assert_eq!(tls11.first(), Some(&0x15), "a TLS 1.1 hello: {tls11:?}");
    assert_eq!(tls11.get(6), Some(&70), "{tls11:?}");

    let stranger = HttpsClient::new(&Ca::new("not the listener's CA"), None);
    assert!(chat_with(&stranger, gw.addr, &[]).await.is_err());
    let r = chat_with(&client, gw.addr, &[("authorization", &auth)])
        .await
        .unwrap();
    assert_eq!(r.status, 200, "the listener still serves after refusals");
    assert_no_key(&gw.logs(), &[&pki.server_key]);
}

#[tokio::test]
async fn an_x509_svid_from_the_client_ca_calls_a_model_with_no_other_credential() {
    let pki = Pki::new();
    let (_mock, gw, billing_key) = setup(&pki, "optional", "").await;
    let svid = pki.ca.svid(BILLING);
    let workload = HttpsClient::new(&pki.ca, Some(&svid));
    let r = chat_with(&workload, gw.addr, &[]).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let record = record_of(&gw, "billing").await;
    let request = &record["event"]["request"];
    assert_eq!(request["auth_method"], "mtls", "{record:#}");
    assert_eq!(request["credential_id"], BILLING, "{record:#}");
    assert_eq!(request["status"], 200);

    // The same certificate with the same identity's key: the key wins.
    let auth = format!("Bearer {billing_key}");
    let r = chat_with(&workload, gw.addr, &[("authorization", &auth)])
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    // With another identity's key: refused as ambiguous.
    let auth = format!("Bearer {}", gw.key);
    let r = chat_with(&workload, gw.addr, &[("authorization", &auth)])
        .await
        .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(
        r.text().contains("more than one credential"),
        "{}",
        r.text()
    );

    // Without a certificate, a key still works (client_auth = optional).
    let anonymous = HttpsClient::new(&pki.ca, None);
    let r = chat_with(&anonymous, gw.addr, &[("authorization", &auth)])
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let r = chat_with(&anonymous, gw.addr, &[]).await.unwrap();
    assert_eq!(r.status, 401, "no credential at all");

    // A certificate from another CA is refused at the handshake.
    let other = Ca::new("another CA");
    let outsider = HttpsClient::new(&pki.ca, Some(&other.svid(BILLING)));
    assert!(
        chat_with(&outsider, gw.addr, &[]).await.is_err(),
        "a certificate from another CA got an answer"
    );

    // From the right CA, but no SPIFFE ID, an unmapped one, another trust
    // domain: 401 with a reason.
    for (leaf, says) in [
        (pki.ca.plain_client("billing"), "no SPIFFE ID"),
        (
            pki.ca.svid("spiffe://example.org/ns/dev/sa/billing"),
            "maps to no",
        ),
        (
            pki.ca.svid("spiffe://other.org/ns/prod/sa/billing"),
            "maps to no",
        ),
    ] {
        let client = HttpsClient::new(&pki.ca, Some(&leaf));
        let r = chat_with(&client, gw.addr, &[]).await.unwrap();
        assert_eq!(r.status, 401, "{says}: {}", r.text());
        assert!(r.text().contains(says), "{}", r.text());
    }
    let metrics = gw.metrics().await;
    assert!(
        metrics.contains("reason=\"cert_unmapped\"")
            && metrics.contains("reason=\"cert_no_spiffe_id\""),
        "{metrics}"
    );
    assert_no_key(&gw.logs(), &[&pki.server_key, &svid.key_pem]);
}

#[tokio::test]
async fn a_call_by_certificate_moves_last_used_at() {
    let pki = Pki::new();
    let (_mock, mut gw, _billing_key) = setup(&pki, "optional", "").await;
    let svid = pki.ca.svid(BILLING);
    let workload = HttpsClient::new(&pki.ca, Some(&svid));
    let r = chat_with(&workload, gw.addr, &[]).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    // Uses are flushed at the latest at shutdown.
    gw.terminate();
    let listed: Value =
        serde_json::from_str(&ok(gw.cli(&["identity", "list", "--format", "json"]))).unwrap();
    let billing = listed
        .as_array()
        .and_then(|all| all.iter().find(|i| i["name"] == "billing"))
        .cloned()
        .unwrap_or_default();
    let used = billing["last_used_at"].as_i64().unwrap_or_default();
    assert!((used - common::tokens::now()).abs() < 60, "{billing:#}");
}

#[tokio::test]
async fn with_client_auth_required_a_connection_without_a_certificate_from_the_ca_is_refused() {
    let pki = Pki::new();
    let (_mock, gw, _) = setup(&pki, "required", "").await;
    let auth = format!("Bearer {}", gw.key);
    let anonymous = HttpsClient::new(&pki.ca, None);
    assert!(
        chat_with(&anonymous, gw.addr, &[("authorization", &auth)])
            .await
            .is_err(),
        "no certificate, yet answered"
    );
    let outsider = HttpsClient::new(&pki.ca, Some(&Ca::new("another CA").svid(BILLING)));
    assert!(chat_with(&outsider, gw.addr, &[]).await.is_err());
    let workload = HttpsClient::new(&pki.ca, Some(&pki.ca.svid(BILLING)));
    let r = chat_with(&workload, gw.addr, &[]).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn refused_certificates_spend_the_sources_failed_authentication_budget() {
    let pki = Pki::new();
    let limits = "[limits]\nfailed_auth_per_source = { burst = 2, per_minute = 1 }\n";
    let (_mock, gw, _) = setup(&pki, "optional", limits).await;
    let unmapped = HttpsClient::new(
        &pki.ca,
        Some(&pki.ca.svid("spiffe://example.org/ns/dev/sa/nobody")),
    );
    for _ in 0..2 {
        let r = chat_with(&unmapped, gw.addr, &[]).await.unwrap();
        assert_eq!(r.status, 401, "{}", r.text());
    }
    let r = chat_with(&unmapped, gw.addr, &[]).await.unwrap();
    assert_eq!(r.status, 429, "{}", r.text());
    // Over the budget, even a good certificate from this source waits.
    let workload = HttpsClient::new(&pki.ca, Some(&pki.ca.svid(BILLING)));
    let r = chat_with(&workload, gw.addr, &[]).await.unwrap();
    assert_eq!(r.status, 429, "{}", r.text());
}

#[tokio::test]
async fn the_listener_certificate_is_reloaded_when_its_files_change() {
    let pki = Pki::new();
    let (_mock, gw, _) = setup(&pki, "off", "").await;
    let client = HttpsClient::new(&pki.ca, None);
    let served = client.server_certificate(gw.addr).await.unwrap();
    assert_eq!(common_name(&served), "first listener certificate");

    let second: Leaf = pki.ca.server("second listener certificate");
    std::fs::write(&pki.key, &second.key_pem).unwrap();
    std::fs::write(&pki.cert, &second.cert_pem).unwrap();
    let seen = eventually(100, Duration::from_millis(100), || async {
        let der = client.server_certificate(gw.addr).await.unwrap();
        common_name(&der) == "second listener certificate"
    })
    .await;
    assert!(seen, "the new certificate was not served\n{}", gw.logs());

    // A key that does not fit: the second certificate stays in use.
    let stray = pki.ca.server("stray");
    std::fs::write(&pki.key, &stray.key_pem).unwrap();
    let warned = eventually(100, Duration::from_millis(100), || async {
        gw.logs().contains("listener certificate not reloaded")
    })
    .await;
    assert!(warned, "{}", gw.logs());
    let der = client.server_certificate(gw.addr).await.unwrap();
    assert_eq!(common_name(&der), "second listener certificate");
    let auth = format!("Bearer {}", gw.key);
    let r = chat_with(&client, gw.addr, &[("authorization", &auth)])
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_no_key(
        &gw.logs(),
        &[&pki.server_key, &second.key_pem, &stray.key_pem],
    );
}

/// A minimal TLS config at `dir` with `tls` as the `[server] tls` value.
fn tls_config(dir: &Path, tls: &str) -> PathBuf {
    let path = dir.join("modelgate.toml");
    let text = format!(
        "{}\n[server]\nlisten = \"127.0.0.1:0\"\nmetrics_listen = \"off\"\n\
         tls = {tls}\n\n{TOKENS_SECTION}",
        store_section(dir, "modelgate.db")
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn bad_tls_files_fail_config_check_and_start_naming_the_field_and_never_the_key() {
    let pki = Pki::new();
    let dir = pki.dir.path();
    let canary = "TLSKEYCANARYb3f1c9a0e7d54";
    let bad_key = dir.join("bad.key");
    std::fs::write(
        &bad_key,
        format!("-----BEGIN PRIVATE KEY-----\n{canary}\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    let missing = dir.join("missing.crt");
    let cases = [
        (
            format!(
                "{{ cert = {}, key = {} }}",
                quoted(&missing),
                quoted(&pki.key)
            ),
            "server.tls.cert",
            true,
        ),
        (
            format!(
                "{{ cert = {}, key = {} }}",
                quoted(&pki.cert),
                quoted(&pki.cert)
            ),
            "server.tls.key",
            true,
        ),
        (
            format!(
                "{{ cert = {}, key = {}, client_auth = \"required\" }}",
                quoted(&pki.cert),
                quoted(&pki.key)
            ),
            "server.tls.client_ca",
            true,
        ),
        // Well-formed to the eye, unreadable to rustls: refused at start.
        (
            format!(
                "{{ cert = {}, key = {} }}",
                quoted(&pki.cert),
                quoted(&bad_key)
            ),
            "server.tls.key",
            false,
        ),
    ];
    for (tls, field, by_check) in cases {
        let config = tls_config(dir, &tls);
        let check = cli_at(&config, &["config", "check"]);
        if by_check {
            assert!(!check.status.success(), "{tls}");
            assert!(stderr(&check).contains(field), "{tls}: {}", stderr(&check));
        }
        let serve = Command::new(binary())
            .args(["--config", config.to_str().unwrap(), "serve"])
            .env("MG_TEST_UPSTREAM_KEY", UPSTREAM_CANARY)
            .env("MG_TEST_KEK", TEST_KEK)
            .output()
            .unwrap();
        assert!(!serve.status.success(), "{tls}: started");
        let said = format!("{}{}", stderr(&serve), stdout(&serve));
        assert!(said.contains(field), "{tls}: {said}");
        assert!(!said.contains(canary) && !stderr(&check).contains(canary));
        assert_no_key(&said, &[&pki.server_key]);
    }
}
