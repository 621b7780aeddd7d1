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
    pub(crate) async fn plan<'r>(
        &self,
        route: &'r ModelRoute,
        call: &ModelCall,
        body: &[u8],
        headers: &HeaderMap,
        principal: &Principal,
        record: &mut CallRecord,
    ) -> Result<Plan<'r>, (&'static str, ApiError)> {
        let stage = &self.inner.screen;
        let screening = stage
            .screen_request(body, headers, principal, &route.name)
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
        Ok(Plan { targets, screening })
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
