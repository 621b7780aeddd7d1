//! Detail a running command learns (the id it created, what it applied),
//! kept for the audit record of the command.

use std::collections::BTreeMap;

/// Detail a command learns while it runs (the id it created, what it
/// applied), added to its audit record.
static NOTES: std::sync::Mutex<BTreeMap<String, String>> = std::sync::Mutex::new(BTreeMap::new());

/// Adds `key = value` to the audit record of the running command
/// (`target` replaces the record's target).
pub fn note(key: &str, value: &str) {
    if let Ok(mut notes) = NOTES.lock() {
        notes.insert(key.to_owned(), value.to_owned());
    }
}

/// Takes the notes made so far (the running command's).
pub fn take() -> BTreeMap<String, String> {
    NOTES
        .lock()
        .map(|mut notes| std::mem::take(&mut *notes))
        .unwrap_or_default()
}
