//! Turning [`RequestFacts`] into a Cedar request and its entities.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, Request, RestrictedExpression,
};

use crate::facts::{Operation, RequestFacts, RoleSource};
use crate::needs::{CONTEXT_ATTRIBUTES, ContextNeeds};
use crate::request_cache::PrincipalEntry;

/// Entity type names and action uids, built once per compiled set.
#[derive(Clone, Debug)]
pub(crate) struct CedarNames {
    identity: EntityTypeName,
    role: EntityTypeName,
    model: EntityTypeName,
    upstream: EntityTypeName,
    actions: Vec<EntityUid>,
}

impl CedarNames {
    pub(crate) fn new() -> Result<CedarNames, String> {
        let ty = |name: &str| EntityTypeName::from_str(name).map_err(|e| e.to_string());
        let action = ty("Action")?;
        Ok(CedarNames {
            identity: ty("Identity")?,
            role: ty("Role")?,
            model: ty("Model")?,
            upstream: ty("Upstream")?,
            actions: Operation::ALL
                .iter()
                .map(|op| {
                    EntityUid::from_type_name_and_id(action.clone(), EntityId::new(op.as_str()))
                })
                .collect(),
        })
    }

    /// The action uid of an operation.
    pub(crate) fn action(&self, op: Operation) -> &EntityUid {
        &self.actions[op.index()]
    }

    /// The `Role` entity type.
    pub(crate) fn role_type(&self) -> &EntityTypeName {
        &self.role
    }

    /// The `Identity` entity type.
    pub(crate) fn identity_type(&self) -> &EntityTypeName {
        &self.identity
    }

    /// `Role::"name"`.
    pub(crate) fn role(&self, name: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(self.role.clone(), EntityId::new(name))
    }

    /// `Identity::"id"`.
    pub(crate) fn identity(&self, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(self.identity.clone(), EntityId::new(id))
    }

    /// The uids and entities of `facts`' principal, model and upstream.
    pub(crate) fn principal_entry(&self, facts: &RequestFacts) -> Result<PrincipalEntry, String> {
        let principal_uid = self.identity(&facts.principal.id);
        let model_uid =
            EntityUid::from_type_name_and_id(self.model.clone(), EntityId::new(&facts.model));
        let upstream_uid = EntityUid::from_type_name_and_id(
            self.upstream.clone(),
            EntityId::new(&facts.upstream.name),
        );
        let entities = self.entities(facts, &principal_uid, &model_uid, &upstream_uid)?;
        Ok(PrincipalEntry::new(
            entities,
            principal_uid,
            model_uid,
            upstream_uid,
        ))
    }

    /// The Cedar request of `facts`, its context holding what `needs` says.
    pub(crate) fn request(
        &self,
        facts: &RequestFacts,
        needs: ContextNeeds,
        entry: &PrincipalEntry,
    ) -> Result<Request, String> {
        let context = Context::from_pairs(self.context_pairs(facts, needs, &entry.upstream)?)
            .map_err(|e| e.to_string())?;
        Request::new(
            entry.principal.clone(),
            self.action(facts.action).clone(),
            entry.model.clone(),
            context,
            None,
        )
        .map_err(|e| e.to_string())
    }

    fn entities(
        &self,
        facts: &RequestFacts,
        principal_uid: &EntityUid,
        model_uid: &EntityUid,
        upstream_uid: &EntityUid,
    ) -> Result<Entities, String> {
        let p = &facts.principal;
        let granted = facts.roles.iter().filter_map(|r| match &r.source {
            RoleSource::Grant(id) => Some((r.name.as_str(), id.as_str())),
            RoleSource::Standing => None,
        });
        let principal = Entity::new(
            principal_uid.clone(),
            HashMap::from([
                ("name".to_owned(), string(&p.name)),
                ("kind".to_owned(), string(p.kind.as_str())),
                ("status".to_owned(), string(p.status.as_str())),
                ("environment".to_owned(), string(&p.environment)),
                ("owner".to_owned(), string(&p.owner)),
                (
                    "granted_roles".to_owned(),
                    RestrictedExpression::new_set(granted.clone().map(|(role, _)| string(role))),
                ),
                (
                    "grants".to_owned(),
                    RestrictedExpression::new_set(granted.map(|(_, grant)| string(grant))),
                ),
            ]),
            facts.roles.iter().map(|r| self.role(&r.name)).collect(),
        )
        .map_err(|e| e.to_string())?;

        let model = Entity::new(
            model_uid.clone(),
            HashMap::from([("name".to_owned(), string(&facts.model))]),
            HashSet::new(),
        )
        .map_err(|e| e.to_string())?;

        let u = &facts.upstream;
        let mut upstream_attrs = HashMap::from([
            ("name".to_owned(), string(&u.name)),
            ("kind".to_owned(), string(&u.kind)),
            ("deployment".to_owned(), string(u.deployment.as_str())),
            ("region".to_owned(), string(&u.region)),
            (
                "retention_days".to_owned(),
                long(u64::from(u.retention_days)),
            ),
            ("isolation".to_owned(), string(u.isolation.as_str())),
        ]);
        if let Some(env) = &u.environment {
            upstream_attrs.insert("environment".to_owned(), string(env));
        }
        let upstream = Entity::new(upstream_uid.clone(), upstream_attrs, HashSet::new())
            .map_err(|e| e.to_string())?;

        Entities::from_entities([principal, model, upstream], None).map_err(|e| e.to_string())
    }

    /// The context attributes in `needs`, from `facts`.
    fn context_pairs(
        &self,
        facts: &RequestFacts,
        needs: ContextNeeds,
        upstream: &EntityUid,
    ) -> Result<Vec<(String, RestrictedExpression)>, String> {
        let mut pairs = Vec::with_capacity(CONTEXT_ATTRIBUTES.len());
        for attribute in CONTEXT_ATTRIBUTES {
            if !needs.has(attribute) {
                continue;
            }
            let value = match attribute {
                "data_class" => string(facts.data_class.as_str()),
                "data_class_rank" => RestrictedExpression::new_long(facts.data_class.rank()),
                "findings" => {
                    let f = &facts.findings;
                    RestrictedExpression::new_record([
                        (
                            "kinds".to_owned(),
                            RestrictedExpression::new_set(f.counts.keys().map(|k| string(k))),
                        ),
                        ("total".to_owned(), long(f.total())),
                        (
                            "has_secret".to_owned(),
                            RestrictedExpression::new_bool(f.has_secret),
                        ),
                        (
                            "has_pii".to_owned(),
                            RestrictedExpression::new_bool(f.has_pii),
                        ),
                    ])
                    .map_err(|e| e.to_string())?
                }
                "environment" => string(&facts.principal.environment),
                "time" => {
                    let t = &facts.time;
                    RestrictedExpression::new_record([
                        ("unix".to_owned(), RestrictedExpression::new_long(t.unix)),
                        ("hour".to_owned(), long(u64::from(t.hour))),
                        ("weekday".to_owned(), long(u64::from(t.weekday))),
                    ])
                    .map_err(|e| e.to_string())?
                }
                "max_tokens" => match facts.max_tokens {
                    Some(max) => long(max),
                    None => continue,
                },
                "upstream" => RestrictedExpression::new_entity_uid(upstream.clone()),
                "delegation_chain" => {
                    RestrictedExpression::new_set(facts.delegation.iter().map(|d| string(d)))
                }
                "delegation_depth" => long(facts.delegation.len() as u64),
                other => return Err(format!("no value for context attribute {other}")),
            };
            pairs.push((attribute.to_owned(), value));
        }
        Ok(pairs)
    }
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

/// A Cedar long; values past `i64::MAX` saturate (no request asks for that
/// many tokens, and saturation keeps every ceiling comparison correct).
fn long(n: u64) -> RestrictedExpression {
    RestrictedExpression::new_long(i64::try_from(n).unwrap_or(i64::MAX))
}
