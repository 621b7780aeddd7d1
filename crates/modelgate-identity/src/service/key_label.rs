//! Key labels: their length limit and the check a label must pass.

use crate::identity::ValidationError;

/// Longest key label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;

/// At most [`MAX_LABEL_CHARS`] characters, no control characters.
pub(super) fn validate_label(label: Option<&str>) -> Result<(), ValidationError> {
    match label {
        Some(l) if l.chars().count() > MAX_LABEL_CHARS || l.chars().any(char::is_control) => {
            Err(ValidationError::Label)
        }
        _ => Ok(()),
    }
}
