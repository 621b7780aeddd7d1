//! Which context attributes a policy reads.
//!
//! Cedar charges for every context attribute it is handed (each is
//! evaluated into a value, about a quarter of a microsecond apiece here),
//! while a decision only depends on the attributes its policies read. So
//! the context is built with just those: a policy that reads
//! `context.upstream.region` and `context has max_tokens` needs `upstream`
//! and `max_tokens`; a policy that uses `context` any other way needs all.

use cedar_policy::Policy;
use serde_json::Value;

/// A set of top-level context attributes, one bit each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct ContextNeeds(u16);

/// The context attributes of the schema, in bit order.
pub(crate) const CONTEXT_ATTRIBUTES: [&str; 9] = [
    "data_class",
    "data_class_rank",
    "findings",
    "environment",
    "time",
    "max_tokens",
    "upstream",
    "delegation_chain",
    "delegation_depth",
];

impl ContextNeeds {
    /// Every attribute.
    pub(crate) const ALL: ContextNeeds = ContextNeeds(u16::MAX);

    /// Whether `attribute` is needed.
    pub(crate) fn has(self, attribute: &str) -> bool {
        match CONTEXT_ATTRIBUTES.iter().position(|a| *a == attribute) {
            Some(bit) => self.0 & (1 << bit) != 0,
            None => self == ContextNeeds::ALL,
        }
    }

    fn add(&mut self, attribute: &str) {
        match CONTEXT_ATTRIBUTES.iter().position(|a| *a == attribute) {
            Some(bit) => self.0 |= 1 << bit,
            None => *self = ContextNeeds::ALL,
        }
    }

    /// Both sets.
    pub(crate) fn union(self, other: ContextNeeds) -> ContextNeeds {
        ContextNeeds(self.0 | other.0)
    }
}

/// The context attributes `policy` reads.
pub(crate) fn context_needs(policy: &Policy) -> ContextNeeds {
    let Ok(json) = policy.to_json() else {
        return ContextNeeds::ALL;
    };
    let mut needs = ContextNeeds::default();
    scan(&json, &mut needs);
    needs
}

fn is_context(expr: &Value) -> bool {
    expr.get("Var").and_then(Value::as_str) == Some("context")
}

fn scan(value: &Value, needs: &mut ContextNeeds) {
    match value {
        Value::Object(map) => {
            if is_context(value) {
                *needs = ContextNeeds::ALL;
                return;
            }
            for op in [".", "has"] {
                if let Some(access) = map.get(op)
                    && let Some(left) = access.get("left")
                    && is_context(left)
                {
                    match access.get("attr").and_then(Value::as_str) {
                        Some(attr) => needs.add(attr),
                        None => *needs = ContextNeeds::ALL,
                    }
                    return;
                }
            }
            map.values().for_each(|v| scan(v, needs));
        }
        Value::Array(items) => items.iter().for_each(|v| scan(v, needs)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(text: &str) -> ContextNeeds {
        context_needs(&Policy::parse(None, text).unwrap())
    }

    #[test]
    fn reads_are_found_through_nesting() {
        let n = needs(
            "forbid (principal, action, resource) when { context has max_tokens && \
             context.max_tokens > 5 && context.upstream.region == \"x\" };",
        );
        assert!(n.has("max_tokens") && n.has("upstream"));
        assert!(!n.has("time") && !n.has("findings") && !n.has("data_class"));
        assert_eq!(
            needs("permit (principal, action, resource);"),
            ContextNeeds::default()
        );
    }

    #[test]
    fn any_other_use_of_context_needs_everything() {
        for text in [
            "forbid (principal, action, resource) when { context == {} };",
            "forbid (principal, action, resource) when { [context].contains(context) };",
        ] {
            let n = needs(text);
            assert!(
                n.has("time") && n.has("findings") && n.has("upstream"),
                "{text}"
            );
        }
    }
}
