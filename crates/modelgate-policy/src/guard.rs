//! Guards: the leading simple tests of a policy's condition, checked in
//! Rust before Cedar sees the policy.
//!
//! Cedar evaluates `A && B && ...` left to right and stops at the first
//! false. When the leading conjuncts of a policy's first `when` clause are
//! plain comparisons of request facts with literals (`principal.kind ==
//! "agent"`, `context.upstream.deployment == "hosted"`,
//! `context.findings.has_secret`, `context.delegation_depth > 3`, ...), and
//! one of them is false, the policy cannot be satisfied and, since such a
//! comparison cannot raise an error, cannot error either: leaving it out of
//! the evaluation changes nothing. A resource scope `resource == Model::"M"`
//! is a guard too. Anything not recognised ends the guard list; the policy
//! is then simply evaluated by Cedar.

use cedar_policy::{Policy, ResourceConstraint};
use serde_json::Value;

use crate::facts::RequestFacts;

/// A string fact a guard compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Text {
    PrincipalName,
    PrincipalKind,
    PrincipalStatus,
    PrincipalEnvironment,
    PrincipalOwner,
    UpstreamName,
    UpstreamKind,
    UpstreamDeployment,
    UpstreamRegion,
    UpstreamIsolation,
    /// Optional: unknown when absent.
    UpstreamEnvironment,
    DataClass,
    ContextEnvironment,
    ModelName,
}

/// A number fact a guard compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Number {
    DataClassRank,
    RetentionDays,
    DelegationDepth,
    Hour,
    Weekday,
    Unix,
    FindingsTotal,
}

/// A boolean fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flag {
    HasSecret,
    HasPii,
    UpstreamHasEnvironment,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// One recognised conjunct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Guard {
    Text {
        fact: Text,
        equal: bool,
        literal: String,
    },
    Number {
        fact: Number,
        cmp: Cmp,
        literal: i64,
    },
    Flag {
        fact: Flag,
        expected: bool,
    },
}

/// The guards of a policy, in evaluation order.
pub(crate) fn guards_of(policy: &Policy) -> Vec<Guard> {
    let mut guards = Vec::new();
    if let ResourceConstraint::Eq(uid) | ResourceConstraint::In(uid) = policy.resource_constraint()
        && uid.type_name().to_string() == "Model"
    {
        let id: &str = uid.id().as_ref();
        guards.push(Guard::Text {
            fact: Text::ModelName,
            equal: true,
            literal: id.to_owned(),
        });
    }
    let Ok(json) = policy.to_json() else {
        return guards;
    };
    let first_when = json
        .get("conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .filter(|c| c.get("kind").and_then(Value::as_str) == Some("when"))
        .and_then(|c| c.get("body"));
    if let Some(body) = first_when {
        let mut conjuncts = Vec::new();
        flatten_and(body, &mut conjuncts);
        for conjunct in conjuncts {
            match guard(conjunct) {
                Some(g) => guards.push(g),
                None => break,
            }
        }
    }
    guards
}

/// Whether no guard is known to be false for `facts`: `false` means the
/// policy cannot apply. Stops, answering `true`, at a guard it cannot
/// decide.
pub(crate) fn may_apply(guards: &[Guard], facts: &RequestFacts) -> bool {
    for g in guards {
        match g.holds(facts) {
            Some(true) => {}
            Some(false) => return false,
            None => return true,
        }
    }
    true
}

fn flatten_and<'a>(expr: &'a Value, out: &mut Vec<&'a Value>) {
    match expr.get("&&") {
        Some(and) => {
            if let (Some(l), Some(r)) = (and.get("left"), and.get("right")) {
                flatten_and(l, out);
                flatten_and(r, out);
            } else {
                out.push(expr);
            }
        }
        None => out.push(expr),
    }
}

fn guard(expr: &Value) -> Option<Guard> {
    if let Some(not) = expr.get("!") {
        let Guard::Flag { fact, expected } = flag(not.get("arg")?)? else {
            return None;
        };
        return Some(Guard::Flag {
            fact,
            expected: !expected,
        });
    }
    if let Some(g) = flag(expr) {
        return Some(g);
    }
    for (op, cmp) in [
        ("==", Cmp::Eq),
        ("!=", Cmp::Ne),
        ("<", Cmp::Lt),
        ("<=", Cmp::Le),
        (">", Cmp::Gt),
        (">=", Cmp::Ge),
    ] {
        let Some(args) = expr.get(op) else { continue };
        let (left, right) = (args.get("left")?, args.get("right")?);
        return comparison(left, right, cmp).or_else(|| comparison(right, left, cmp.flipped()));
    }
    None
}

fn flag(expr: &Value) -> Option<Guard> {
    if let Some(has) = expr.get("has") {
        let on = path(has.get("left")?)?;
        if on == ["context", "upstream"] && has.get("attr")?.as_str()? == "environment" {
            return Some(Guard::Flag {
                fact: Flag::UpstreamHasEnvironment,
                expected: true,
            });
        }
        return None;
    }
    let fact = match path(expr)?.as_slice() {
        ["context", "findings", "has_secret"] => Flag::HasSecret,
        ["context", "findings", "has_pii"] => Flag::HasPii,
        _ => return None,
    };
    Some(Guard::Flag {
        fact,
        expected: true,
    })
}

/// `fact cmp literal`.
fn comparison(fact: &Value, literal: &Value, cmp: Cmp) -> Option<Guard> {
    let literal = literal.get("Value")?;
    let path = path(fact)?;
    if let Some(text) = literal.as_str() {
        let equal = match cmp {
            Cmp::Eq => true,
            Cmp::Ne => false,
            _ => return None,
        };
        return Some(Guard::Text {
            fact: text_fact(&path)?,
            equal,
            literal: text.to_owned(),
        });
    }
    let literal = literal.as_i64()?;
    Some(Guard::Number {
        fact: number_fact(&path)?,
        cmp,
        literal,
    })
}

/// `principal.a.b` → `["principal", "a", "b"]`.
fn path(expr: &Value) -> Option<Vec<&str>> {
    if let Some(var) = expr.get("Var") {
        return Some(vec![var.as_str()?]);
    }
    let dot = expr.get(".")?;
    let mut base = path(dot.get("left")?)?;
    base.push(dot.get("attr")?.as_str()?);
    Some(base)
}

fn text_fact(path: &[&str]) -> Option<Text> {
    Some(match path {
        ["principal", "name"] => Text::PrincipalName,
        ["principal", "kind"] => Text::PrincipalKind,
        ["principal", "status"] => Text::PrincipalStatus,
        ["principal", "environment"] => Text::PrincipalEnvironment,
        ["principal", "owner"] => Text::PrincipalOwner,
        ["context", "upstream", "name"] => Text::UpstreamName,
        ["context", "upstream", "kind"] => Text::UpstreamKind,
        ["context", "upstream", "deployment"] => Text::UpstreamDeployment,
        ["context", "upstream", "region"] => Text::UpstreamRegion,
        ["context", "upstream", "isolation"] => Text::UpstreamIsolation,
        ["context", "upstream", "environment"] => Text::UpstreamEnvironment,
        ["context", "data_class"] => Text::DataClass,
        ["context", "environment"] => Text::ContextEnvironment,
        ["resource", "name"] => Text::ModelName,
        _ => return None,
    })
}

fn number_fact(path: &[&str]) -> Option<Number> {
    Some(match path {
        ["context", "data_class_rank"] => Number::DataClassRank,
        ["context", "upstream", "retention_days"] => Number::RetentionDays,
        ["context", "delegation_depth"] => Number::DelegationDepth,
        ["context", "time", "hour"] => Number::Hour,
        ["context", "time", "weekday"] => Number::Weekday,
        ["context", "time", "unix"] => Number::Unix,
        ["context", "findings", "total"] => Number::FindingsTotal,
        _ => return None,
    })
}

impl Cmp {
    /// The comparison with its operands swapped (`3 < x` is `x > 3`).
    fn flipped(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
            Cmp::Eq | Cmp::Ne => self,
        }
    }
}

impl Guard {
    fn holds(&self, facts: &RequestFacts) -> Option<bool> {
        match self {
            Guard::Text {
                fact,
                equal,
                literal,
            } => Some((text(*fact, facts)? == literal) == *equal),
            Guard::Number { fact, cmp, literal } => {
                let value = number(*fact, facts);
                Some(match cmp {
                    Cmp::Lt => value < *literal,
                    Cmp::Le => value <= *literal,
                    Cmp::Gt => value > *literal,
                    Cmp::Ge => value >= *literal,
                    Cmp::Eq => value == *literal,
                    Cmp::Ne => value != *literal,
                })
            }
            Guard::Flag { fact, expected } => {
                let value = match fact {
                    Flag::HasSecret => facts.findings.has_secret,
                    Flag::HasPii => facts.findings.has_pii,
                    Flag::UpstreamHasEnvironment => facts.upstream.environment.is_some(),
                };
                Some(value == *expected)
            }
        }
    }
}

/// The fact as the request builder gives it to Cedar.
fn text(fact: Text, f: &RequestFacts) -> Option<&str> {
    Some(match fact {
        Text::PrincipalName => &f.principal.name,
        Text::PrincipalKind => f.principal.kind.as_str(),
        Text::PrincipalStatus => f.principal.status.as_str(),
        Text::PrincipalEnvironment | Text::ContextEnvironment => &f.principal.environment,
        Text::PrincipalOwner => &f.principal.owner,
        Text::UpstreamName => &f.upstream.name,
        Text::UpstreamKind => &f.upstream.kind,
        Text::UpstreamDeployment => f.upstream.deployment.as_str(),
        Text::UpstreamRegion => &f.upstream.region,
        Text::UpstreamIsolation => f.upstream.isolation.as_str(),
        Text::UpstreamEnvironment => f.upstream.environment.as_deref()?,
        Text::DataClass => f.data_class.as_str(),
        Text::ModelName => &f.model,
    })
}

/// The number as the request builder gives it to Cedar (saturating).
fn number(fact: Number, f: &RequestFacts) -> i64 {
    let sat = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    match fact {
        Number::DataClassRank => f.data_class.rank(),
        Number::RetentionDays => i64::from(f.upstream.retention_days),
        Number::DelegationDepth => sat(f.delegation.len() as u64),
        Number::Hour => i64::from(f.time.hour),
        Number::Weekday => i64::from(f.time.weekday),
        Number::Unix => f.time.unix,
        Number::FindingsTotal => sat(f.findings.total()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guards(text: &str) -> Vec<Guard> {
        guards_of(&Policy::parse(None, text).unwrap())
    }

    #[test]
    fn leading_simple_conjuncts_become_guards() {
        let g = guards(
            r#"forbid (principal, action, resource == Model::"m")
               when { principal.environment == "prod" && 3 < context.delegation_depth
                      && context.upstream has environment && !context.findings.has_secret
                      && context.findings.kinds.contains("x") && principal.kind == "agent" };"#,
        );
        assert_eq!(g.len(), 5, "{g:?}");
        assert_eq!(
            g[2],
            Guard::Number {
                fact: Number::DelegationDepth,
                cmp: Cmp::Gt,
                literal: 3
            }
        );
        assert_eq!(
            g[4],
            Guard::Flag {
                fact: Flag::HasSecret,
                expected: false
            }
        );
    }

    #[test]
    fn unless_and_unknown_shapes_give_no_guards() {
        assert!(
            guards("forbid (principal, action, resource) unless { principal.kind == \"x\" };")
                .is_empty()
        );
        assert!(
            guards(
                "forbid (principal, action, resource) when { principal.kind == \"x\" || true };"
            )
            .is_empty()
        );
        assert!(
            guards("forbid (principal, action, resource) when { principal.kind like \"x*\" };")
                .is_empty()
        );
        assert!(
            guards(
                "forbid (principal, action, resource) when { context.data_class_rank + 1 > 2 };"
            )
            .is_empty()
        );
    }
}
