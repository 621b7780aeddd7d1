//! The `policy_input` of audit records: the JSON of the facts a decision
//! was made from, serialised once per distinct facts.
//!
//! The same facts recur request after request (one identity, one model,
//! one upstream, the same findings, within the same second), and their
//! JSON costs about as much as the rest of the decide stage's bookkeeping.
//! A hit is an equality of every fact, so the text is exactly what
//! serialising them again would give.

use std::sync::RwLock;

use modelgate_policy::RequestFacts;

/// Most facts kept; emptied when full.
const MAX_KEPT: usize = 64;

/// Recently serialised facts.
#[derive(Debug, Default)]
pub struct InputJson {
    recent: RwLock<Vec<(RequestFacts, String)>>,
}

impl InputJson {
    /// The JSON of `facts`; `None` if they cannot be serialised.
    pub fn of(&self, facts: &RequestFacts) -> Option<String> {
        {
            let recent = self.recent.read().unwrap_or_else(|e| e.into_inner());
            if let Some((_, json)) = recent.iter().rev().find(|(kept, _)| kept == facts) {
                return Some(json.clone());
            }
        }
        let json = serde_json::to_string(facts).ok()?;
        let mut recent = self.recent.write().unwrap_or_else(|e| e.into_inner());
        if recent.len() >= MAX_KEPT {
            recent.clear();
        }
        recent.push((facts.clone(), json.clone()));
        Some(json)
    }

    /// Facts kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.recent.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use modelgate_policy::{
        DataClass, Deployment, FindingSummary, IdentityKind, IdentityStatus, Isolation, Operation,
        PrincipalFacts, TimeFacts, UpstreamFacts,
    };

    use super::*;

    fn facts() -> RequestFacts {
        RequestFacts {
            principal: PrincipalFacts {
                id: "idn_1".into(),
                name: "bench".into(),
                kind: IdentityKind::Service,
                status: IdentityStatus::Active,
                environment: "prod".into(),
                owner: "o".into(),
            },
            roles: Vec::new(),
            delegation: Vec::new(),
            action: Operation::ChatCompletions,
            model: "m".into(),
            max_tokens: Some(128),
            data_class: DataClass::Internal,
            findings: FindingSummary::default(),
            upstream: UpstreamFacts {
                name: "mock".into(),
                kind: "openai".into(),
                deployment: Deployment::SelfHosted,
                region: "local".into(),
                retention_days: 0,
                isolation: Isolation::Technical,
                environment: None,
            },
            time: TimeFacts::from_unix(1_795_676_742),
        }
    }

    #[test]
    fn equal_facts_give_the_same_text_as_serialising_them() {
        let cache = InputJson::default();
        let f = facts();
        let fresh = serde_json::to_string(&f).unwrap();
        assert_eq!(cache.of(&f).as_deref(), Some(fresh.as_str()));
        assert_eq!(cache.of(&f).as_deref(), Some(fresh.as_str()));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn any_different_fact_is_serialised_afresh() {
        let cache = InputJson::default();
        let f = facts();
        cache.of(&f);
        let mut later = f.clone();
        later.time = TimeFacts::from_unix(f.time.unix + 1);
        let mut found = f.clone();
        found.findings.counts.insert("email".into(), 2);
        found.findings.has_pii = true;
        for changed in [later, found] {
            let text = cache.of(&changed).unwrap();
            assert_eq!(text, serde_json::to_string(&changed).unwrap());
            assert_ne!(text, cache.of(&f).unwrap());
        }
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = InputJson::default();
        let mut f = facts();
        for i in 0..=MAX_KEPT {
            f.time = TimeFacts::from_unix(i as i64);
            let text = cache.of(&f).unwrap();
            assert_eq!(text, serde_json::to_string(&f).unwrap());
            assert!(cache.len() <= MAX_KEPT);
        }
        assert_eq!(cache.len(), 1);
    }
}
