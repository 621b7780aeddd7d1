//! The request path through the real binary: both dialects, streaming,
//! usage accounting, authentication, model visibility, health and metrics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use http_body_util::BodyExt;
use serde_json::json;

async fn setup() -> (MockHandle, TestGateway) {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"m-openai\", model = \"demo-chat\" }}, {{ upstream = \"m-anthropic\", model = \"demo-chat\" }}]\n\
         [[models]]\nname = \"embed\"\ntargets = [{{ upstream = \"m-openai\", model = \"demo-embed\" }}]\n\
         [[models]]\nname = \"dev-only\"\ntargets = [{{ upstream = \"m-openai\", model = \"x\" }}]\nenvironments = [\"dev\"]\n",
        upstreams_on(&mock, "m", "")
    );
    let gw = TestGateway::start(&config).await;
    (mock, gw)
}

#[tokio::test]
async fn chat_round_trip_renames_model_and_injects_credential() {
    let (mock, gw) = setup().await;
    let r = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert!(
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("hello there")
    );
    assert!(r.headers.contains_key("x-request-id"));
    let seen = mock.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/chat/completions");
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(
        body["model"], "demo-chat",
        "public name mapped to the upstream's"
    );
    let auth: Vec<_> = seen[0]
        .headers
        .iter()
        .filter(|(n, _)| n == "authorization")
        .collect();
    assert_eq!(auth.len(), 1);
    assert_eq!(auth[0].1, format!("Bearer {UPSTREAM_CANARY}"));
}

#[tokio::test]
async fn streamed_chat_hides_injected_usage_but_accounts_for_it() {
    let (mock, gw) = setup().await;
    let r = gw.openai("/v1/chat/completions", &chat("chat", true)).await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = r.text();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    assert!(
        !text.contains("\"prompt_tokens\""),
        "usage chunk hidden from caller: {text}"
    );
    let sent: serde_json::Value = serde_json::from_slice(&mock.requests()[0].body).unwrap();
    assert_eq!(sent["stream_options"]["include_usage"], true);

    // A caller who asks gets the usage chunk.
    let mut body = chat("chat", true);
    body["stream_options"] = json!({"include_usage": true});
    let text = gw.openai("/v1/chat/completions", &body).await.text();
    assert!(text.contains("\"prompt_tokens\""), "{text}");

    // Both streams were accounted.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let metrics = gw.metrics().await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("modelgate_tokens_total{model=\"chat\",direction=\"output\"}"))
        .unwrap_or_else(|| panic!("no token metric: {metrics}"));
    let n: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n > 0);
}

#[tokio::test]
async fn messages_streamed_and_not() {
    let (mock, gw) = setup().await;
    let r = gw.anthropic(&messages("chat", false)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["type"], "message");
    let seen = &mock.requests()[0];
    assert_eq!(seen.path, "/v1/messages");
    assert!(
        seen.headers
            .iter()
            .any(|(n, v)| n == "x-api-key" && v == UPSTREAM_CANARY)
    );
    assert!(!seen.headers.iter().any(|(n, _)| n == "authorization"));
    let r = gw.anthropic(&messages("chat", true)).await;
    let text = r.text();
    assert!(text.starts_with("event: message_start"), "{text}");
    assert!(text.contains("event: message_stop"));
}

#[tokio::test]
async fn completions_and_embeddings() {
    let (_mock, gw) = setup().await;
    let r = gw
        .openai(
            "/v1/completions",
            &json!({"model": "chat", "prompt": "say hi"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["object"], "text_completion");
    let r = gw
        .openai(
            "/v1/completions",
            &json!({"model": "chat", "prompt": "say hi", "stream": true}),
        )
        .await;
    assert!(r.text().contains("data: [DONE]"));
    let r = gw
        .openai(
            "/v1/embeddings",
            &json!({"model": "embed", "input": ["a", "b"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn models_list_shows_only_what_the_caller_may_use() {
    let (_mock, gw) = setup().await;
    let auth = format!("Bearer {}", gw.key);
    let r = call(
        "GET",
        &gw.url("/v1/models"),
        &[("authorization", &auth)],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    let ids: Vec<String> = r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        ["chat", "embed"],
        "dev-only model hidden from a prod identity"
    );
    let r = call(
        "GET",
        &gw.url("/v1/models/dev-only"),
        &[("authorization", &auth)],
        "",
    )
    .await;
    assert_eq!(r.status, 404);
    // And it cannot be called either.
    let r = gw
        .openai("/v1/chat/completions", &chat("dev-only", false))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "model_not_found");
    // Anthropic-style listing.
    let r = call(
        "GET",
        &gw.url("/v1/models"),
        &[("x-api-key", &gw.key), ("anthropic-version", "2023-06-01")],
        "",
    )
    .await;
    assert_eq!(r.json()["data"][0]["type"], "model");
}

#[tokio::test]
async fn authentication_failures_in_each_dialect() {
    let (mock, gw) = setup().await;
    let body = chat("chat", false).to_string();
    for headers in [
        vec![],
        vec![("authorization", "Bearer mgk_nope")],
        vec![("authorization", "Basic abc")],
    ] {
        let r = call(
            "POST",
            &gw.url("/v1/chat/completions"),
            &headers,
            body.clone(),
        )
        .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["error"]["code"], "invalid_api_key");
    }
    let r = call(
        "POST",
        &gw.url("/v1/messages"),
        &[("x-api-key", "wrong")],
        messages("chat", false).to_string(),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["type"], "authentication_error");
    assert!(mock.requests().is_empty(), "nothing forwarded");
}

#[tokio::test]
async fn revocation_is_effective_on_the_next_request() {
    let (_mock, gw) = setup().await;
    assert_eq!(
        gw.openai("/v1/chat/completions", &chat("chat", false))
            .await
            .status,
        200
    );
    let out = gw.cli(&["key", "list", "--format", "json"]);
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = keys[0]["id"].as_str().unwrap().to_owned();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(&gw.key),
        "listing never shows the key"
    );
    // The CLI writes the store directly, like another replica: the gateway
    // drops its cached key at the next sync (tokens.sync_interval, 1 s).
    assert!(gw.cli(&["key", "revoke", &id]).status.success());
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(
        gw.openai("/v1/chat/completions", &chat("chat", false))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn health_ready_metrics() {
    let (_mock, gw) = setup().await;
    assert_eq!(call("GET", &gw.url("/healthz"), &[], "").await.status, 200);
    let r = call("GET", &gw.url("/readyz"), &[], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ready");
    gw.openai("/v1/chat/completions", &chat("chat", false))
        .await;
    let m = gw.metrics().await;
    for needle in [
        "modelgate_requests_total{operation=\"chat\",model=\"chat\",upstream=\"m-openai\",status=\"200\"} 1",
        "modelgate_gateway_duration_seconds_bucket",
        "modelgate_upstream_duration_seconds_count{upstream=\"m-openai\"}",
    ] {
        assert!(m.contains(needle), "missing {needle} in\n{m}");
    }
}

#[tokio::test]
async fn client_disconnect_mid_stream_is_accounted() {
    let (mock, gw) = setup().await;
    mock.set_behavior(Behavior {
        hold_after_first_chunk: true,
        ..Default::default()
    });
    let auth = format!("Bearer {}", gw.key);
    let response = send(
        "POST",
        &gw.url("/v1/chat/completions"),
        &[("authorization", &auth)],
        chat("chat", true).to_string(),
    )
    .await;
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert!(first.is_data());
    drop(body);
    mock.release();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(gw.logs().contains("client_closed"), "{}", gw.logs());
}

#[tokio::test]
async fn admin_api_revocation_is_immediate_despite_the_key_cache() {
    let (_mock, gw) = setup().await;
    let out = gw.cli(&["admin", "bootstrap"]);
    let admin = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("key:"))
        .unwrap()
        .trim()
        .to_owned();
    // Warm the cache, then revoke through this replica's admin API.
    for _ in 0..3 {
        assert_eq!(
            gw.openai("/v1/chat/completions", &chat("chat", false))
                .await
                .status,
            200
        );
    }
    let auth = format!("Bearer {admin}");
    let keys = call(
        "GET",
        &gw.url("/admin/v1/identities/app/keys"),
        &[("authorization", &auth)],
        "",
    )
    .await
    .json();
    let id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    let r = call(
        "POST",
        &gw.url(&format!("/admin/v1/keys/{id}/revoke")),
        &[("authorization", &auth)],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        gw.openai("/v1/chat/completions", &chat("chat", false))
            .await
            .status,
        401,
        "on the very next request"
    );
}
