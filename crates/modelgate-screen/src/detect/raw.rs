//! [`Raw`]: a finding as a detector reports it, before overlaps are
//! merged. Shared by the detectors here, the personal-data scanner and the
//! engine.

use std::ops::Range;

use crate::finding::{Category, Confidence, Kind};
use crate::kinds;

/// A finding before overlaps are merged.
#[derive(Clone, Debug)]
pub(crate) struct Raw {
    pub kind: Kind,
    pub category: Category,
    pub priority: u8,
    pub span: Range<usize>,
    pub confidence: Confidence,
}

impl Raw {
    /// A finding of a built-in kind.
    pub(crate) fn builtin(id: &'static str, span: Range<usize>, confidence: Confidence) -> Raw {
        let def = kinds::known(id);
        Raw {
            kind: Kind::builtin(def.id),
            category: def.category,
            priority: def.priority,
            span,
            confidence,
        }
    }
}
