//! Least privilege through the live gateway: role rate limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[tokio::test]
async fn the_request_past_the_rate_limit_gets_429_with_retry_after() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"l-openai\", model = \"demo-chat\" }}, {{ upstream = \"l-anthropic\", model = \"demo-chat\" }}]\n\n[[roles]]\nname = \"limited\"\nmodels = [\"chat\"]\nactions = [\"chat\", \"messages\"]\nrequests_per_minute = 3\n",
        upstreams_on(&mock, "l", "")
    );
    let gw = TestGateway::start(&config).await;
    let out = gw.cli(&[
        "role",
        "assign",
        "--identity",
        "app",
        "--role",
        "limited",
        "--by",
        "root",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for _ in 0..3 {
        let r = gw
            .openai("/v1/chat/completions", &chat("chat", false))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let refused = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.json()["error"]["code"], "rate_limit_exceeded");
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=120).contains(&retry));
    let refused = gw.anthropic(&messages("chat", false)).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.json()["error"]["type"], "rate_limit_error");
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(
        mock.requests().len(),
        3,
        "nothing past the limit was forwarded"
    );
}
