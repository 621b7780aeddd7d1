//! Canaries: the caller's credential never reaches the upstream, the
//! upstream's credential never reaches the caller, and neither reaches the
//! gateway's logs, on success, on failure and on refusal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[tokio::test]
async fn credentials_stay_on_their_side() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"m-openai\", model = \"demo-chat\" }}, {{ upstream = \"m-anthropic\", model = \"demo-chat\" }}]\n",
        upstreams_on(&mock, "m", "")
    );
    let gw = TestGateway::start(&config).await;
    let mut seen_by_caller = String::new();
    let auth = format!("Bearer {}", gw.key);
    let extra_headers = [
        ("authorization", auth.as_str()),
        ("x-api-key", gw.key.as_str()),
        ("api-key", gw.key.as_str()),
        ("cookie", "session=caller-cookie-CANARY"),
        ("openai-organization", "org-caller-CANARY"),
        ("proxy-authorization", "Basic caller-proxy-CANARY"),
        ("anthropic-version", "2023-06-01"),
    ];
    for (path, body) in [
        ("/v1/chat/completions", chat("chat", false)),
        ("/v1/chat/completions", chat("chat", true)),
        ("/v1/messages", messages("chat", false)),
        ("/v1/messages", messages("chat", true)),
    ] {
        let r = call("POST", &gw.url(path), &extra_headers, body.to_string()).await;
        assert_eq!(r.status, 200);
        seen_by_caller.push_str(&format!("{:?}{}", r.headers, r.text()));
    }
    // Upstream failures and refusals too.
    mock.set_behavior(Behavior {
        status: Some(500),
        ..Default::default()
    });
    let r = call(
        "POST",
        &gw.url("/v1/chat/completions"),
        &extra_headers,
        chat("chat", false).to_string(),
    )
    .await;
    seen_by_caller.push_str(&format!("{:?}{}", r.headers, r.text()));
    mock.set_behavior(Behavior {
        status: Some(401),
        ..Default::default()
    });
    let r = call(
        "POST",
        &gw.url("/v1/messages"),
        &extra_headers,
        messages("chat", false).to_string(),
    )
    .await;
    seen_by_caller.push_str(&format!("{:?}{}", r.headers, r.text()));
    let wrong = format!("{}x", gw.key);
    let r = call(
        "POST",
        &gw.url("/v1/chat/completions"),
        &[("authorization", &format!("Bearer {wrong}"))],
        chat("chat", false).to_string(),
    )
    .await;
    assert_eq!(r.status, 401);
    seen_by_caller.push_str(&r.text());

    let mut seen_by_upstream = String::new();
    for request in mock.requests() {
        seen_by_upstream.push_str(&format!(
            "{:?}{}",
            request.headers,
            String::from_utf8_lossy(&request.body)
        ));
    }
    assert!(
        seen_by_upstream.contains(UPSTREAM_CANARY),
        "the upstream did get its own key"
    );
    for canary in [
        gw.key.as_str(),
        "caller-cookie-CANARY",
        "org-caller-CANARY",
        "caller-proxy-CANARY",
    ] {
        assert!(
            !seen_by_upstream.contains(canary),
            "{canary} reached the upstream"
        );
    }
    assert!(
        !seen_by_caller.contains(UPSTREAM_CANARY),
        "upstream key reached the caller"
    );

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let logs = gw.logs();
    assert!(
        logs.contains("request"),
        "the gateway did log (at debug): {logs}"
    );
    for canary in [
        gw.key.as_str(),
        wrong.as_str(),
        UPSTREAM_CANARY,
        &gw.key[4..20],
    ] {
        assert!(!logs.contains(canary), "a secret reached the logs");
    }
    let metrics = gw.metrics().await;
    assert!(!metrics.contains(&gw.key[4..20]) && !metrics.contains(UPSTREAM_CANARY));
}
