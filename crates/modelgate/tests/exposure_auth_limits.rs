//! Issue 15, limits for callers that are not authenticated, through the
//! live gateway: a source that spent its failed-authentication budget
//! (`limits.failed_auth_per_source`) gets 429 with `Retry-After` for any
//! credential it presents, before the credential is looked up (a valid key
//! from it is refused too), in the caller's dialect and on the token
//! endpoint; other sources are unaffected; behind a trusted proxy the
//! source is the forwarded address, and `X-Forwarded-For` from any other
//! peer is ignored. The refusals' audit records are coalesced per source
//! and reason: their counts sum to the refusals, the chain verifies, and
//! the presented credential appears nowhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

const CHAT: &str = "/v1/chat/completions";
/// A bad key planted to be searched for in logs and audit records.
const CANARY_KEY: &str = "mgk_CANARYbadkey0000000000000000000000000000_zzzz";

/// A gateway with model `chat`, the budget `burst` (one failure back per
/// minute, so none comes back during a test), refusals coalesced per
/// second, and `server` lines in `[server]`.
async fn setup(server: &str, burst: u32) -> (MockHandle, TestGateway) {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "[limits]\nfailed_auth_per_source = {{ burst = {burst}, per_minute = 1 }}\n\n\
         [audit]\nrefusal_coalesce_interval = \"1s\"\n\n{}\n\
         [[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"m-openai\", model = \"demo-chat\" }}]\n",
        upstreams_on(&mock, "m", "")
    );
    (mock, TestGateway::start_with_server(server, &config).await)
}

/// Sends a request from local address `from`.
async fn call_from(
    from: &str,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut connector = HttpConnector::new();
    connector.set_local_address(Some(from.parse::<IpAddr>().unwrap()));
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut builder = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(request))
        .await
        .expect("request timed out")
        .expect("request failed");
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// A chat call from `from` with `key` and, if given, `X-Forwarded-For`.
async fn chat_from(gw: &TestGateway, from: &str, key: &str, forwarded: Option<&str>) -> Reply {
    let auth = format!("Bearer {key}");
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    if let Some(xff) = forwarded {
        headers.push(("x-forwarded-for", xff));
    }
    let body = chat("chat", false).to_string();
    call_from(from, "POST", &gw.url(CHAT), &headers, &body).await
}

/// `client_credentials` from `from` with `secret`.
async fn token_from(gw: &TestGateway, from: &str, secret: &str) -> Reply {
    let body = format!("grant_type=client_credentials&client_secret={secret}");
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    call_from(from, "POST", &gw.url("/oauth2/token"), &headers, &body).await
}

/// The `Retry-After` seconds of a reply (panics when absent).
fn retry_after(reply: &Reply) -> u64 {
    reply
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", reply.headers))
}

/// The value of the metric line starting with `prefix`, 0 when absent.
async fn metric(gw: &TestGateway, prefix: &str) -> u64 {
    let text = call("GET", &gw.metrics_url(), &[], "").await.text();
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Every audit record (the gateway's chain), as `audit search` prints it.
fn audit_records(gw: &TestGateway) -> Vec<Value> {
    let out = gw.cli(&["audit", "search", "--format", "json", "--limit", "100000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Refusals per (source, reason) the records stand for: a request record
/// with a `reason` or a `token.exchange_failed` record is one refusal; a
/// `refusal.summary` stands for its `count`. Also the number of summaries.
fn refusals_recorded(records: &[Value]) -> (BTreeMap<(String, String), u64>, usize) {
    let mut totals = BTreeMap::new();
    let mut summaries = 0;
    for record in records {
        let event = &record["event"];
        let (source, reason, n) = if let Some(request) = event.get("request") {
            let Some(reason) = request["reason"].as_str() else {
                continue;
            };
            let addr = request["client_addr"].as_str().unwrap_or_default();
            let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
            (host.to_owned(), reason.to_owned(), 1)
        } else {
            let control = &event["control"];
            let detail = &control["detail"];
            match control["action"].as_str() {
                Some("refusal.summary") => {
                    summaries += 1;
                    let count = detail["count"].as_str().unwrap().parse().unwrap();
                    let reason = detail["reason"].as_str().unwrap().to_owned();
                    (detail["source"].as_str().unwrap().to_owned(), reason, count)
                }
                Some("token.exchange_failed") => {
                    let reason = detail["reason"].as_str().unwrap().to_owned();
                    let source = detail["source"].as_str().unwrap_or_default().to_owned();
                    (source, reason, 1)
                }
                _ => continue,
            }
        };
        *totals.entry((source, reason)).or_default() += n;
    }
    (totals, summaries)
}

#[tokio::test]
async fn a_source_over_its_budget_is_refused_unchecked_and_others_keep_working() {
    let (_mock, mut gw) = setup("", 5).await;
    let mut statuses = BTreeMap::new();
    for i in 0..100 {
        let key = if i == 0 {
            CANARY_KEY.to_owned()
        } else {
            format!("mgk_bad{i:04}")
        };
        let reply = chat_from(&gw, "127.0.0.1", &key, None).await;
        *statuses.entry(reply.status.as_u16()).or_insert(0) += 1;
        if reply.status == 429 {
            assert!(retry_after(&reply) >= 1);
            let error = &reply.json()["error"];
            assert_eq!(error["type"], "rate_limit_error", "{error}");
            assert_eq!(error["code"], "auth_rate_limited");
            assert!(!reply.text().contains("mgk_bad"), "{}", reply.text());
        }
    }
    assert_eq!(statuses, BTreeMap::from([(401, 5), (429, 95)]));
    // Lookups stopped: 5 refused credentials were checked, 95 were not.
    assert_eq!(metric(&gw, "modelgate_auth_failures_total{").await, 5);
    let limited = "modelgate_auth_failures_limited_total{endpoint=\"model_api\"}";
    assert_eq!(metric(&gw, limited).await, 95);

    // A valid key from the same source is not even looked up ...
    let valid = chat_from(&gw, "127.0.0.1", &gw.key, None).await;
    assert_eq!(valid.status, 429, "{}", valid.text());
    // ... nor does the Anthropic dialect get past it (in its own shape).
    let headers = [
        ("x-api-key", "mgk_badanthropic"),
        ("anthropic-version", "2023-06-01"),
        ("content-type", "application/json"),
    ];
    let body = messages("chat", false).to_string();
    let reply = call_from(
        "127.0.0.1",
        "POST",
        &gw.url("/v1/messages"),
        &headers,
        &body,
    )
    .await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.json()["type"], "error");
    assert_eq!(reply.json()["error"]["type"], "rate_limit_error");
    retry_after(&reply);
    // No credential at all is still told what is missing.
    let reply = call_from("127.0.0.1", "POST", &gw.url(CHAT), &[], &body).await;
    assert_eq!(reply.status, 401);

    // A caller from another source is unaffected, and its success spends
    // nothing.
    for _ in 0..10 {
        let reply = chat_from(&gw, "127.0.0.2", &gw.key, None).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }

    // The records: coalesced (fewer records than refusals, summaries with
    // counts), summing to the refusals, in a chain that verifies.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    gw.terminate();
    let records = audit_records(&gw);
    let (totals, summaries) = refusals_recorded(&records);
    let source = |reason: &str| totals.get(&("127.0.0.1".into(), reason.into())).copied();
    assert_eq!(source("unauthenticated"), Some(6), "{totals:?}"); // 5 + no credential
    assert_eq!(source("auth_limited"), Some(97), "{totals:?}"); // 95 + valid + anthropic
    assert!(summaries >= 1, "no refusal.summary record");
    let limited_records = records
        .iter()
        .filter(|r| r["event"]["request"]["reason"] == "auth_limited")
        .count();
    assert!(
        limited_records < 20,
        "{limited_records} records for 97 refusals"
    );
    let out = gw.cli(&["audit", "verify", "--replica", "gateway"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let everything = format!("{}{}", serde_json::to_string(&records).unwrap(), gw.logs());
    assert!(!everything.contains("CANARY"), "the bad key leaked");
    assert!(!everything.contains(&gw.key), "the valid key leaked");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_address_has_its_own_budget() {
    let server = "trusted_proxies = [\"127.0.0.1/32\"]\n";
    let (_mock, mut gw) = setup(server, 3).await;
    let (proxy, forged) = ("127.0.0.1", "203.0.113.9, 198.51.100.1");
    for _ in 0..3 {
        let reply = chat_from(&gw, proxy, "mgk_bad", Some("198.51.100.1")).await;
        assert_eq!(reply.status, 401);
    }
    let reply = chat_from(&gw, proxy, "mgk_bad", Some("198.51.100.1")).await;
    assert_eq!(reply.status, 429, "{}", reply.text());
    // The caller cannot escape by writing an address in front: the
    // right-most untrusted entry is the one the proxy appended.
    let reply = chat_from(&gw, proxy, &gw.key, Some(forged)).await;
    assert_eq!(reply.status, 429);
    // Another forwarded address through the same proxy is unaffected.
    let reply = chat_from(&gw, proxy, &gw.key, Some("198.51.100.2")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    // A header the gateway cannot read counts against the proxy itself,
    // not against any forwarded address.
    for _ in 0..3 {
        let reply = chat_from(&gw, proxy, "mgk_bad", Some("not-an-address")).await;
        assert_eq!(reply.status, 401);
    }
    let reply = chat_from(&gw, proxy, "mgk_bad", None).await;
    assert_eq!(reply.status, 429, "the proxy's own budget is spent");
    let reply = chat_from(&gw, proxy, &gw.key, Some("198.51.100.3")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    // From a peer that is not a trusted proxy the header is ignored: a new
    // forwarded address each time does not buy a new budget.
    for i in 0..3 {
        let xff = format!("192.0.2.{i}");
        let reply = chat_from(&gw, "127.0.0.2", "mgk_bad", Some(&xff)).await;
        assert_eq!(reply.status, 401);
    }
    let reply = chat_from(&gw, "127.0.0.2", &gw.key, Some("192.0.2.200")).await;
    assert_eq!(reply.status, 429);
    let reply = chat_from(&gw, "127.0.0.3", &gw.key, Some("192.0.2.200")).await;
    assert_eq!(reply.status, 200, "another peer: {}", reply.text());

    // The record of a forwarded caller names the forwarded address; the
    // counts still open are written at shutdown.
    gw.terminate();
    let records = audit_records(&gw);
    let (totals, _) = refusals_recorded(&records);
    let of = |s: &str, r: &str| totals.get(&(s.into(), r.into())).copied();
    assert_eq!(of("198.51.100.1", "unauthenticated"), Some(3), "{totals:?}");
    assert_eq!(of("127.0.0.2", "unauthenticated"), Some(3), "{totals:?}");
}

#[tokio::test]
async fn the_token_endpoint_spends_and_honours_the_same_budget() {
    let (_mock, mut gw) = setup("", 4).await;
    let mut statuses = BTreeMap::new();
    for i in 0..30 {
        let secret = if i == 0 {
            CANARY_KEY.to_owned()
        } else {
            format!("mgk_bad{i}")
        };
        let reply = token_from(&gw, "127.0.0.1", &secret).await;
        *statuses.entry(reply.status.as_u16()).or_insert(0) += 1;
        if reply.status == 429 {
            assert!(retry_after(&reply) >= 1);
            assert_eq!(reply.json()["error"], "temporarily_unavailable");
        } else {
            assert_eq!(reply.json()["error"], "invalid_client", "{}", reply.text());
        }
    }
    assert_eq!(statuses, BTreeMap::from([(401, 4), (429, 26)]));
    let limited = "modelgate_auth_failures_limited_total{endpoint=\"token\"}";
    assert_eq!(metric(&gw, limited).await, 26);
    // The budget is the source's, whichever endpoint spent it.
    let reply = chat_from(&gw, "127.0.0.1", &gw.key, None).await;
    assert_eq!(reply.status, 429);
    // Another source still gets its token and uses it.
    let reply = token_from(&gw, "127.0.0.2", &gw.key).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    let reply = chat_from(&gw, "127.0.0.2", &token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    // Counts still in their interval are written at shutdown.
    gw.terminate();
    let records = audit_records(&gw);
    let (totals, _) = refusals_recorded(&records);
    let of = |r: &str| totals.get(&("127.0.0.1".into(), r.into())).copied();
    assert_eq!(of("invalid_client"), Some(4), "{totals:?}");
    assert_eq!(of("auth_limited"), Some(27), "{totals:?}"); // 26 + the chat call
    let out = gw.cli(&["audit", "verify", "--replica", "gateway"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let everything = format!("{}{}", serde_json::to_string(&records).unwrap(), gw.logs());
    assert!(!everything.contains("CANARY"), "the bad key leaked");
}

#[tokio::test]
async fn the_admin_api_spends_and_honours_the_same_budget() {
    let (_mock, gw) = setup("", 3).await;
    let admin_key = bootstrap_admin(&gw);
    let admin = |from: &'static str, key: String| {
        let url = gw.url("/admin/v1/identities");
        async move {
            let auth = format!("Bearer {key}");
            call_from(from, "GET", &url, &[("authorization", auth.as_str())], "").await
        }
    };
    // Before its budget is spent, the admin key works from this source.
    let reply = admin("127.0.0.1", admin_key.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    for i in 0..3 {
        let bad = if i == 0 {
            CANARY_KEY.to_owned()
        } else {
            format!("mgk_bad{i}")
        };
        let reply = admin("127.0.0.1", bad).await;
        assert_eq!(reply.status, 401, "{}", reply.text());
    }
    // Spent: refused unchecked, a valid admin key included.
    for _ in 0..5 {
        let reply = admin("127.0.0.1", admin_key.clone()).await;
        assert_eq!(reply.status, 429, "{}", reply.text());
        assert!(retry_after(&reply) >= 1);
        assert_eq!(reply.json()["error"]["code"], "auth_rate_limited");
    }
    let limited = "modelgate_auth_failures_limited_total{endpoint=\"admin\"}";
    assert_eq!(metric(&gw, limited).await, 5);
    // Shared with the model APIs.
    let reply = chat_from(&gw, "127.0.0.1", &gw.key, None).await;
    assert_eq!(reply.status, 429);
    // Another source is unaffected.
    let reply = admin("127.0.0.2", admin_key.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let everything = format!(
        "{}{}",
        serde_json::to_string(&audit_records(&gw)).unwrap(),
        gw.logs()
    );
    assert!(!everything.contains("CANARY"), "the bad key leaked");
    assert!(!everything.contains(&admin_key), "the admin key leaked");
}
