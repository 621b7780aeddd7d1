//! Data classes: an ordered list of names, and a request's class as the
//! highest of its identity's default, the caller's header and what the
//! detectors found.

use crate::screen::DataClassSettings;

/// The policy schema's class for rank `rank` of the configured levels
/// (the fourth level and above are `restricted`).
pub fn data_class_of(rank: usize) -> modelgate_policy::DataClass {
    use modelgate_policy::DataClass;
    match rank {
        0 => DataClass::Public,
        1 => DataClass::Internal,
        2 => DataClass::Confidential,
        _ => DataClass::Restricted,
    }
}

/// The header that may raise (never lower) a request's data class.
pub const DATA_CLASS_HEADER: &str = "x-modelgate-data-class";

/// The configured classes, lowest first.
#[derive(Debug, Clone)]
pub struct DataClasses {
    names: Vec<String>,
    default: usize,
    by_environment: Vec<(String, usize)>,
    credential: usize,
    personal_data: usize,
}

impl DataClasses {
    /// Checks the settings (unique names, every reference known).
    pub fn new(settings: &DataClassSettings) -> Result<DataClasses, (String, String)> {
        if settings.levels.is_empty() {
            return Err((
                "data_classes.levels".into(),
                "needs at least one class".into(),
            ));
        }
        for (i, name) in settings.levels.iter().enumerate() {
            if name.is_empty() || settings.levels[..i].contains(name) {
                return Err((
                    "data_classes.levels".into(),
                    format!("class names must be unique and non-empty ({name:?})"),
                ));
            }
        }
        let names = settings.levels.clone();
        let rank = |field: &str, name: &str| {
            names.iter().position(|n| n == name).ok_or_else(|| {
                (
                    field.to_owned(),
                    format!(
                        "unknown data class {name:?} (classes: {})",
                        names.join(", ")
                    ),
                )
            })
        };
        let default = rank("data_classes.default", &settings.default)?;
        let credential = rank(
            "data_classes.credential_findings",
            &settings.credential_findings,
        )?;
        let personal_data = rank(
            "data_classes.personal_data_findings",
            &settings.personal_data_findings,
        )?;
        let by_environment = settings
            .by_environment
            .iter()
            .map(|(env, class)| {
                rank(&format!("data_classes.by_environment.{env}"), class).map(|r| (env.clone(), r))
            })
            .collect::<Result<_, _>>()?;
        Ok(DataClasses {
            names,
            default,
            by_environment,
            credential,
            personal_data,
        })
    }

    /// The rank of `name`, if it is a class.
    pub fn rank(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The name of `rank`.
    pub fn name(&self, rank: usize) -> &str {
        self.names.get(rank).map_or("", String::as_str)
    }

    /// The highest class.
    pub fn highest(&self) -> usize {
        self.names.len().saturating_sub(1)
    }

    /// The class names, lowest first.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// An identity's default class, from its environment.
    pub fn for_environment(&self, environment: &str) -> usize {
        self.by_environment
            .iter()
            .find(|(env, _)| env == environment)
            .map_or(self.default, |(_, rank)| *rank)
    }

    /// The class detectors imply.
    pub fn for_findings(&self, credential: bool, personal_data: bool) -> usize {
        let mut rank = 0;
        if credential {
            rank = rank.max(self.credential);
        }
        if personal_data {
            rank = rank.max(self.personal_data);
        }
        rank
    }
}
