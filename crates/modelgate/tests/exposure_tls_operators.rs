//! Issue 15, TLS on the operators' listeners, through the live gateway:
//! `[server.admin_tls]` and `[server.metrics_tls]` serve the admin API and
//! the metrics over HTTPS; with `client_auth = "required"` only a holder of
//! a certificate from the operators' CA connects (and the admin API still
//! needs an admin's key); plain HTTP gets no answer; a TLS table for a
//! listener that does not exist is refused naming it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::pki::{Ca, HttpsClient};
use common::*;

/// A TOML string holding `path`.
fn quoted(path: &Path) -> String {
    format!("{:?}", path.to_str().unwrap())
}

/// Sends `GET path` in plain HTTP to `addr`; what came back (as text)
/// before the connection closed or 5 s passed.
async fn plain_http(addr: std::net::SocketAddr, path: &str, auth: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: {auth}\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut answer),
    )
    .await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn admin_and_metrics_listeners_serve_tls_and_require_an_operator_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let server_ca = Ca::new("listener CA");
    let operators = Ca::new("operators CA");
    let leaf = server_ca.server("operators listener");
    let cert = dir.path().join("server.crt");
    let key = dir.path().join("server.key");
    std::fs::write(&cert, &leaf.cert_pem).unwrap();
    std::fs::write(&key, &leaf.key_pem).unwrap();
    let operators_pem = operators.write(dir.path(), "operators.pem");
    let table = format!(
        "{{ cert = {}, key = {}, client_ca = {}, client_auth = \"required\" }}",
        quoted(&cert),
        quoted(&key),
        quoted(&operators_pem)
    );
    let server =
        format!("admin_listen = \"127.0.0.1:0\"\nadmin_tls = {table}\nmetrics_tls = {table}\n");
    let mock = MockUpstream::start().await.unwrap();
    let gw = TestGateway::start_with_server(&server, &upstreams_on(&mock, "m", "")).await;
    assert!(gw.logs().contains("listening on http://"), "{}", gw.logs());
    let admin_addr = gw.admin_addr.expect("an admin listener");
    let metrics_addr = gw.metrics_addr.expect("a metrics listener");
    let admin_key = bootstrap_admin(&gw);
    let auth = format!("Bearer {admin_key}");

    // An operator with a certificate from the operators' CA: the admin
    // API (with the admin key) and the metrics answer over HTTPS.
    let operator = HttpsClient::new(&server_ca, Some(&operators.plain_client("alice")));
    let reply = operator
        .call(
            admin_addr,
            "GET",
            "/admin/v1/identities",
            &[("authorization", auth.as_str())],
            "",
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    // The certificate only lets the operator connect: no key, no admin.
    let reply = operator
        .call(admin_addr, "GET", "/admin/v1/identities", &[], "")
        .await
        .unwrap();
    assert_eq!(reply.status, 401, "{}", reply.text());
    let reply = operator
        .call(metrics_addr, "GET", "/metrics", &[], "")
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains("modelgate_"), "{}", reply.text());

    // No certificate, or one from another CA: refused at the handshake,
    // the admin key notwithstanding.
    let stranger_ca = Ca::new("stranger CA");
    for client in [
        HttpsClient::new(&server_ca, None),
        HttpsClient::new(&server_ca, Some(&stranger_ca.plain_client("mallory"))),
    ] {
        for addr in [admin_addr, metrics_addr] {
            let refused = client
                .call(
                    addr,
                    "GET",
                    "/admin/v1/identities",
                    &[("authorization", auth.as_str())],
                    "",
                )
                .await;
            assert!(refused.is_err(), "{addr}: {:?}", refused.map(|r| r.status));
        }
    }
    // Plain HTTP to a TLS listener gets no HTTP answer.
    for (addr, path) in [
        (admin_addr, "/admin/v1/identities"),
        (metrics_addr, "/metrics"),
    ] {
        let answer = plain_http(addr, path, &auth).await;
        assert!(
            !answer.starts_with("HTTP/"),
            "{addr} answered plain HTTP: {answer}"
        );
    }
    // The main listener stays plain, and no longer serves the admin API.
    let reply = call(
        "GET",
        &gw.url("/admin/v1/identities"),
        &[("authorization", auth.as_str())],
        "",
    )
    .await;
    assert_eq!(reply.status, 404);
    assert!(!gw.logs().contains(leaf.key_pem.lines().nth(1).unwrap()));
}

#[tokio::test]
async fn a_tls_table_for_a_listener_that_does_not_exist_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("listener CA");
    let leaf = ca.server("x");
    let cert = dir.path().join("server.crt");
    let key = dir.path().join("server.key");
    std::fs::write(&cert, &leaf.cert_pem).unwrap();
    std::fs::write(&key, &leaf.key_pem).unwrap();
    let table = format!("{{ cert = {}, key = {} }}", quoted(&cert), quoted(&key));
    let cases = [
        (format!("admin_tls = {table}\n"), "server.admin_tls"),
        (
            format!("admin_listen = \"127.0.0.1:8080\"\nadmin_tls = {table}\n"),
            "server.admin_tls",
        ),
        (
            format!("metrics_listen = \"off\"\nmetrics_tls = {table}\n"),
            "server.metrics_tls",
        ),
        (
            format!(
                "admin_listen = \"127.0.0.1:0\"\nadmin_tls = {{ cert = {}, key = {} }}\n",
                quoted(&dir.path().join("missing.crt")),
                quoted(&key)
            ),
            "server.admin_tls.cert",
        ),
    ];
    for (server, field) in cases {
        let config = dir.path().join("modelgate.toml");
        std::fs::write(
            &config,
            format!(
                "{}\n[server]\nlisten = \"127.0.0.1:8080\"\n{server}\n{TOKENS_SECTION}",
                store_section(dir.path(), "modelgate.db")
            ),
        )
        .unwrap();
        let out = cli_at(&config, &["config", "check"]);
        assert!(!out.status.success(), "{server}");
        assert!(stderr(&out).contains(field), "{server}: {}", stderr(&out));
    }
}
