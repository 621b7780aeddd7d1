//! Facts and roles shared by the behaviour tests.
#![allow(dead_code)]

use modelgate_policy::{
    ActiveRole, DataClass, Deployment, FindingSummary, IdentityKind, IdentityStatus, Isolation,
    Operation, PrincipalFacts, RequestFacts, RoleDef, RoleSource, TimeFacts, UpstreamFacts,
};

pub fn role(name: &str, models: &[&str], actions: &[Operation]) -> RoleDef {
    RoleDef {
        name: name.into(),
        description: String::new(),
        models: models.iter().map(|m| m.to_string()).collect(),
        actions: actions.to_vec(),
        max_tokens: None,
        max_data_class: None,
    }
}

pub fn roles() -> Vec<RoleDef> {
    let mut capped = role("capped", &["gpt-*"], &[Operation::ChatCompletions]);
    capped.max_tokens = Some(1000);
    capped.max_data_class = Some(DataClass::Internal);
    vec![
        role(
            "chat",
            &["gpt-*", "claude-*"],
            &[Operation::ChatCompletions, Operation::Messages],
        ),
        role("embed", &["text-embedding-*"], &[Operation::Embeddings]),
        capped,
    ]
}

pub fn hosted() -> UpstreamFacts {
    UpstreamFacts {
        name: "openai".into(),
        kind: "openai".into(),
        deployment: Deployment::Hosted,
        region: "us".into(),
        retention_days: 30,
        isolation: Isolation::Contractual,
        environment: None,
    }
}

pub fn facts(roles: &[&str]) -> RequestFacts {
    RequestFacts {
        principal: PrincipalFacts {
            id: "id-billing".into(),
            name: "billing-api".into(),
            kind: IdentityKind::Service,
            status: IdentityStatus::Active,
            environment: "prod".into(),
            owner: "payments".into(),
        },
        roles: roles
            .iter()
            .map(|r| ActiveRole {
                name: r.to_string(),
                source: RoleSource::Standing,
            })
            .collect(),
        delegation: Vec::new(),
        action: Operation::ChatCompletions,
        model: "gpt-4o".into(),
        max_tokens: Some(500),
        data_class: DataClass::Public,
        findings: FindingSummary::default(),
        upstream: hosted(),
        time: TimeFacts::from_unix(1_767_268_800),
    }
}
