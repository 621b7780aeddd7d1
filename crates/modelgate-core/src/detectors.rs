//! The detectors and data classes, built once from `[screen]` and
//! `[data_classes]`: the data plane's screening rules run them, the audit
//! trail redacts retained bodies with them, and the control plane reads
//! their kinds. Built before the rest of [`crate::Core`], so that a bad
//! screen section stops start-up before any key is loaded or created.

use std::sync::Arc;

use modelgate_config::{Config, DataClasses};
use modelgate_screen::{ScreenConfig, Screener};

use crate::CoreError;

/// The compiled detectors and the configured data classes.
#[derive(Debug, Clone)]
pub struct Detectors {
    /// The secret and personal-data detectors.
    pub screener: Arc<Screener>,
    /// The configured data classes, lowest first.
    pub classes: DataClasses,
}

impl Detectors {
    /// Compiles the detectors (built-in and custom) and checks the classes.
    pub fn from_config(config: &Config) -> Result<Detectors, CoreError> {
        let screener = Screener::new(&ScreenConfig {
            disabled: config.screen.disabled.clone(),
            custom: config.screen.custom.clone(),
            ..ScreenConfig::default()
        })
        .map_err(|e| CoreError::Screen(format!("screen: {e}")))?;
        let classes = DataClasses::new(&config.data_classes)
            .map_err(|(field, reason)| CoreError::Screen(format!("{field}: {reason}")))?;
        Ok(Detectors {
            screener: Arc::new(screener),
            classes,
        })
    }
}
