//! The route table: public model names, who may use them, and the ordered
//! upstream targets behind each.

use std::collections::HashMap;
use std::sync::Arc;

use modelgate_identity::Principal;

use modelgate_config::Config;
use modelgate_types::Operation;

use crate::upstream::Upstream;

/// One (upstream, upstream model) pair.
#[derive(Debug, Clone)]
pub struct Target {
    /// The upstream.
    pub upstream: Arc<Upstream>,
    /// Model (or deployment) name at the upstream.
    pub model: String,
}

impl Target {
    /// Whether this target can serve `operation`: same dialect, or chat and
    /// messages, which translate into each other.
    pub fn can_serve(&self, operation: Operation) -> bool {
        self.upstream.dialect() == operation.dialect()
            || matches!(operation, Operation::ChatCompletions | Operation::Messages)
    }
}

/// A public model and its fallback list.
#[derive(Debug)]
pub struct ModelRoute {
    /// The name callers use (also the metric label).
    pub name: Arc<str>,
    /// Targets in order of preference.
    pub targets: Vec<Target>,
    environments: Option<Vec<String>>,
    /// Regions its requests must stay in, if any.
    pub regions: Option<Vec<String>>,
}

impl ModelRoute {
    /// Whether an identity in `environment` may use this model.
    pub fn allows(&self, principal: &Principal) -> bool {
        self.environments
            .as_ref()
            .is_none_or(|envs| envs.contains(&principal.environment))
    }

    /// Targets that can serve `operation`, in order: first those that speak
    /// the caller's dialect, then those reached by translation (which may
    /// lose what the other API cannot express), so a native target is
    /// always preferred.
    pub fn targets_for(&self, operation: Operation) -> impl Iterator<Item = &Target> {
        let dialect = operation.dialect();
        let native = self
            .targets
            .iter()
            .filter(move |t| t.upstream.dialect() == dialect);
        let translated = self
            .targets
            .iter()
            .filter(move |t| t.upstream.dialect() != dialect && t.can_serve(operation));
        native.chain(translated)
    }
}

/// All model routes.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<ModelRoute>,
    by_name: HashMap<String, usize>,
}

impl RouteTable {
    /// Builds the table from validated config and the upstreams built from it.
    pub fn new(config: &Config, upstreams: &[Arc<Upstream>]) -> RouteTable {
        let mut table = RouteTable::default();
        for model in &config.models {
            let targets = model
                .targets
                .iter()
                .filter_map(|t| {
                    let upstream = upstreams.iter().find(|u| *u.name == *t.upstream)?;
                    Some(Target {
                        upstream: upstream.clone(),
                        model: t.model.clone(),
                    })
                })
                .collect();
            table.by_name.insert(model.name.clone(), table.routes.len());
            table.routes.push(ModelRoute {
                name: Arc::from(model.name.as_str()),
                targets,
                environments: model.environments.clone(),
                regions: model.regions.clone(),
            });
        }
        table
    }

    /// The route for `model` if it exists and `principal` may use it.
    /// Unknown and forbidden look the same to the caller.
    pub fn resolve(&self, model: &str, principal: &Principal) -> Option<&ModelRoute> {
        let route = &self.routes[*self.by_name.get(model)?];
        route.allows(principal).then_some(route)
    }

    /// Models `principal` may use, in configuration order.
    pub fn visible<'a>(&'a self, principal: &'a Principal) -> impl Iterator<Item = &'a ModelRoute> {
        self.routes.iter().filter(move |r| r.allows(principal))
    }

    /// Every route.
    pub fn all(&self) -> &[ModelRoute] {
        &self.routes
    }
}
