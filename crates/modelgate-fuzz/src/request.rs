//! `request_body`: a model-call body through the parse stage, the screen
//! stage (with `redact` as the default action, so every finding is
//! replaced) and the rewrite toward an upstream, as the pipeline runs them.

use std::sync::{Arc, OnceLock};

use http::HeaderMap;
use modelgate_config::{DataClassSettings, DataClasses, ScreenAction, ScreenSettings};
use modelgate_gateway::stages::parse::{ModelCall, parse};
use modelgate_gateway::stages::screen::{ScreenRules, forwarded_body};
use modelgate_identity::{AuthMethod, Principal};
use modelgate_screen::Screener;
use modelgate_types::{IdentityKind, Operation};

use crate::input::selector;

/// The upstream model name the rewrite puts in.
const UPSTREAM_MODEL: &str = "upstream-model-\"x\"";

/// The operations whose bodies the gateway parses.
const OPERATIONS: [Operation; 4] = [
    Operation::ChatCompletions,
    Operation::Completions,
    Operation::Embeddings,
    Operation::Messages,
];

fn rules() -> &'static ScreenRules {
    static RULES: OnceLock<ScreenRules> = OnceLock::new();
    RULES.get_or_init(|| {
        let settings = ScreenSettings {
            default_action: ScreenAction::Redact,
            ..ScreenSettings::default()
        };
        let built = DataClasses::new(&DataClassSettings::default()).and_then(|classes| {
            ScreenRules::with(Arc::new(Screener::builtin()), classes, &settings, &[])
        });
        match built {
            Ok(rules) => rules,
            Err((field, reason)) => panic!("screen rules setup failed: {field}: {reason}"),
        }
    })
}

fn principal() -> Principal {
    Principal {
        identity_id: "idn_fuzz".to_owned(),
        identity_name: "fuzz-caller".to_owned(),
        kind: IdentityKind::Service,
        owner: "fuzz@example.test".to_owned(),
        environment: "prod".to_owned(),
        credential_id: "key_fuzz".to_owned(),
        auth_method: AuthMethod::ApiKey,
        delegation: Vec::new(),
        scope: None,
    }
}

/// The first byte picks the operation; the rest is the body.
pub fn request_body(data: &[u8]) {
    let _ = screen(data);
}

fn screen(data: &[u8]) -> Option<()> {
    let (pick, body) = selector(data)?;
    let operation = OPERATIONS[usize::from(pick) % OPERATIONS.len()];
    let call = parse(operation, body).ok()?;
    check_rewrite(&call, body);

    let screening = rules()
        .screen_request(&call, body, &HeaderMap::new(), &principal(), &call.model)
        .ok()?;
    let redacted = screening.body?;
    // The redacted body is what goes upstream: it must parse again, to the
    // same call.
    let model = call.model.clone();
    let stream = call.stream;
    let (again, redacted) =
        match forwarded_body(operation, call, body.to_vec().into(), Some(redacted)) {
            Ok(forwarded) => forwarded,
            Err(refusal) => panic!("a redacted body no longer parses: {refusal:?}"),
        };
    assert_eq!(again.model, model);
    assert_eq!(again.stream, stream);
    // Screened again, it holds none of the modelgate keys found in it (the
    // same characters may remain inside a longer token, which the detector
    // does not take for a key, by design).
    let rescreened = rules()
        .screen_request(&again, &redacted, &HeaderMap::new(), &principal(), &model)
        .ok()?;
    for secret in &screening.leaked {
        assert!(
            !rescreened.leaked.iter().any(|found| found.0 == secret.0),
            "a leaked key survived redaction"
        );
    }
    Some(())
}

/// The body rewritten for an upstream parses again, naming the upstream's
/// model, with the same stream flag and output ceiling.
fn check_rewrite(call: &ModelCall, body: &[u8]) {
    let inject = call.needs_usage_injection();
    let Ok(Some(out)) = call.rewrite_body(body, UPSTREAM_MODEL, inject) else {
        return;
    };
    let again = match parse(call.operation, &out) {
        Ok(again) => again,
        Err(e) => panic!("a rewritten body no longer parses: {e:?}"),
    };
    assert_eq!(again.model, UPSTREAM_MODEL);
    assert_eq!(again.stream, call.stream);
    assert_eq!(again.max_tokens, call.max_tokens);
    if inject {
        assert!(again.caller_wants_usage, "usage was not asked for");
    }
}
