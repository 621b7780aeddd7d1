//! The screen and route stages of a model call: screen the prompt, act on
//! what was found (block, redact, reroute, revoke a leaked key), and keep
//! only the targets that may receive the request.

use std::collections::BTreeMap;

use http::HeaderMap;
use modelgate_identity::Principal;

use crate::dialect::{ApiError, ErrorKind};
use crate::gateway::{Gateway, unix_now};
use crate::parse::ModelCall;
use crate::record::CallRecord;
use crate::routes::{ModelRoute, Target};
use modelgate_identity::access::Entitlements;
use modelgate_policy::Decision;

use crate::policy::FactsBuilder;
use crate::screening::response::ResponseStreamScreen;
use crate::screening::{ResponseAction, ScreenAction, ScreenStage, Screening};

/// Where a request may go, and what screening made of it.
pub(crate) struct Plan<'r> {
    /// Eligible targets, in the route's order.
    pub targets: Vec<&'r Target>,
    /// Findings, class, action and the redacted body, if any.
    pub screening: Screening,
}

impl Gateway {
    /// Screens `body` and picks the eligible targets of `route`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one stage's inputs, each distinct"
    )]
    pub(crate) async fn plan<'r>(
        &self,
        route: &'r ModelRoute,
        call: &ModelCall,
        body: &[u8],
        headers: &HeaderMap,
        principal: &Principal,
        entitlements: &Entitlements,
        record: &mut CallRecord,
    ) -> Result<Plan<'r>, (&'static str, ApiError)> {
        let stage = &self.inner.screen;
        let screening = stage
            .screen_request(call, body, headers, principal, &route.name)
            .map_err(|e| ("invalid_request", e))?;
        record.findings.clone_from(&screening.findings);
        record.data_class = Some(stage.classes().name(screening.class).to_owned());
        if !screening.leaked.is_empty() && stage.revokes_leaked_keys() {
            self.revoke_leaked(&screening, record).await;
        }
        if screening.action == ScreenAction::Block {
            record.action = Some("blocked");
            return Err(("blocked", ScreenStage::block_error(&screening)));
        }
        let mut reason: Option<String> = None;
        let targets: Vec<&Target> = route
            .targets_for(call.operation)
            .filter(|t| {
                let ready = self.inner.posture.ready(&t.upstream.name);
                match ready.and_then(|()| {
                    stage.eligible(&screening, principal, route.regions.as_deref(), &t.upstream)
                }) {
                    Ok(()) => true,
                    Err(why) => {
                        reason.get_or_insert(why);
                        false
                    }
                }
            })
            .collect();
        if targets.is_empty()
            && let Some(why) = reason
        {
            record.action = Some("refused");
            return Err((
                "no_eligible_upstream",
                ApiError::new(
                    ErrorKind::PermissionDenied,
                    format!("no upstream may receive this request: {why}"),
                )
                .with_code("no_eligible_upstream"),
            ));
        }
        let targets = self.decide(
            route,
            call,
            principal,
            entitlements,
            &screening,
            targets,
            record,
        )?;
        Ok(Plan { targets, screening })
    }

    /// Whether policy lets `principal` see `route` in `/v1/models`: it may
    /// list it (`models.list`) or use it (any operation), judged with the
    /// model's first target as the upstream.
    pub(crate) fn may_list(
        &self,
        principal: &Principal,
        entitlements: &Entitlements,
        route: &ModelRoute,
    ) -> bool {
        let Some(target) = route.targets.first() else {
            return false;
        };
        let now = unix_now();
        // No prompt yet: the identity's default class stands for its data.
        let stated = Screening {
            class: self
                .inner
                .screen
                .classes()
                .for_environment(&principal.environment),
            ..Screening::default()
        };
        modelgate_policy::Operation::ALL
            .into_iter()
            .any(|operation| {
                let mut facts = FactsBuilder::new(
                    principal,
                    entitlements,
                    operation,
                    &route.name,
                    None,
                    Some(&stated),
                    now,
                );
                self.inner
                    .policy
                    .decide(facts.for_upstream(&target.upstream))
                    .allowed
            })
    }

    /// The decide stage: Cedar on each eligible target; keeps those it
    /// allows. The first allowing (or, if none, the first denying) decision
    /// goes to the record. All denied: 403 with the deciding policy's
    /// reason and nothing else about the policy.
    #[expect(
        clippy::too_many_arguments,
        reason = "one stage's inputs, each distinct"
    )]
    fn decide<'r>(
        &self,
        route: &ModelRoute,
        call: &ModelCall,
        principal: &Principal,
        entitlements: &Entitlements,
        screening: &Screening,
        targets: Vec<&'r Target>,
        record: &mut CallRecord,
    ) -> Result<Vec<&'r Target>, (&'static str, ApiError)> {
        let mut facts = FactsBuilder::new(
            principal,
            entitlements,
            policy_operation(call.operation),
            &route.name,
            call.max_tokens,
            Some(screening),
            unix_now(),
        );
        let mut allowed = Vec::with_capacity(targets.len());
        let mut first_denial: Option<(Decision, String)> = None;
        for target in targets {
            let input = facts.for_upstream(&target.upstream);
            let decision = self.inner.policy.decide(input);
            if let Some(shadow) = &decision.shadow
                && record.shadow.is_none()
            {
                record.shadow = Some((
                    if shadow.allowed { "allow" } else { "deny" },
                    shadow.policy_ids.clone(),
                ));
            }
            if decision.allowed {
                if allowed.is_empty() {
                    record.policy_ids.clone_from(&decision.policy_ids);
                    record.policy_input = self.inner.policy.input_json(input);
                }
                allowed.push(target);
            } else if first_denial.is_none() {
                first_denial = Some((
                    decision,
                    self.inner.policy.input_json(input).unwrap_or_default(),
                ));
            }
        }
        if !allowed.is_empty() {
            record.decision = Some("allow");
            return Ok(allowed);
        }
        let Some((denial, input)) = first_denial else {
            return Ok(allowed);
        };
        record.decision = Some("deny");
        record.action = Some("denied");
        record.policy_ids = denial.policy_ids;
        record.policy_input = Some(input);
        let reason = denial
            .reason
            .unwrap_or_else(|| "denied by policy".to_owned());
        Err((
            "policy_denied",
            ApiError::new(ErrorKind::PermissionDenied, reason).with_code("policy_denied"),
        ))
    }

    /// Screens a complete response (caller's dialect) as `[screen]
    /// responses` says; returns the body to send.
    pub(crate) fn screen_response(
        &self,
        record: &mut CallRecord,
        status: http::StatusCode,
        body: bytes::Bytes,
    ) -> bytes::Bytes {
        let mode = self.inner.screen.responses();
        if mode == ResponseAction::Off || !status.is_success() {
            return body;
        }
        let (body, counts) = crate::screening::response::screen_body(
            self.inner.screen.screener(),
            body,
            mode == ResponseAction::Redact,
        );
        record.response_findings = counts.into_iter().collect();
        body
    }

    /// The screen for a streamed response, if responses are screened.
    pub(crate) fn response_stream_screen(
        &self,
        dialect: crate::dialect::Dialect,
    ) -> Option<ResponseStreamScreen> {
        let mode = self.inner.screen.responses();
        (mode != ResponseAction::Off).then(|| {
            ResponseStreamScreen::new(
                dialect,
                self.inner.screen.screener().clone(),
                mode == ResponseAction::Redact,
                self.inner.limits.max_body_bytes,
            )
        })
    }

    /// Revokes each live modelgate key found in the prompt and records it.
    async fn revoke_leaked(&self, screening: &Screening, record: &CallRecord) {
        for secret in &screening.leaked {
            match self
                .inner
                .identity
                .revoke_leaked_key(&secret.0, unix_now())
                .await
            {
                Ok(Some(leaked)) => {
                    tracing::warn!(key_id = %leaked.key_id, identity = %leaked.identity, "a modelgate key was found in a prompt and revoked");
                    let detail = BTreeMap::from([
                        ("request_id".to_owned(), record.request_id.to_string()),
                        ("key_identity".to_owned(), leaked.identity.clone()),
                        ("revoked_now".to_owned(), leaked.revoked_now.to_string()),
                    ]);
                    let _ = self
                        .inner
                        .audit
                        .control(
                            "key.leaked",
                            record.identity.as_deref(),
                            Some(&leaked.key_id),
                            "revoked",
                            detail,
                        )
                        .await;
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "could not revoke a leaked key"),
            }
        }
    }
}

/// The policy schema's name of an operation.
pub fn policy_operation(operation: crate::parse::Operation) -> modelgate_policy::Operation {
    use crate::parse::Operation as Op;
    match operation {
        Op::ChatCompletions => modelgate_policy::Operation::Chat,
        Op::Completions => modelgate_policy::Operation::Completions,
        Op::Embeddings => modelgate_policy::Operation::Embeddings,
        Op::Messages => modelgate_policy::Operation::Messages,
    }
}
