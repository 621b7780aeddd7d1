//! SQLite announces nothing: another process (the CLI) writes the file
//! directly, so replicas see its changes by polling the revision.

use super::SqliteBackend;
use crate::state_watch::StateWatch;

impl SqliteBackend {
    pub(crate) async fn watch_state(&self) -> StateWatch {
        StateWatch::never()
    }
}
