//! Access reviews: one row per review, the document as JSON text.

use rusqlite::{OptionalExtension, Row, params};

use super::SqliteBackend;
use super::connections::Op;
use crate::{ReviewRecord, StoreError};

/// The columns [`review`] reads, in order.
const REVIEW_COLUMNS: &str = "id, opened_at, due_at, body, version";

fn review(row: &Row<'_>) -> rusqlite::Result<ReviewRecord> {
    Ok(ReviewRecord {
        id: row.get(0)?,
        opened_at: row.get(1)?,
        due_at: row.get(2)?,
        body: row.get(3)?,
        version: row.get(4)?,
    })
}

impl SqliteBackend {
    pub(crate) async fn insert_review(&self, r: &ReviewRecord) -> Result<(), StoreError> {
        const OP: &str = "insert review";
        let r = r.clone();
        self.conns
            .exclusive(OP, move |conn| {
                conn.prepare_cached(
                    "INSERT INTO reviews (id, opened_at, due_at, body, version) \
                     VALUES (?, ?, ?, ?, 1)",
                )
                .and_then(|mut stmt| stmt.execute(params![r.id, r.opened_at, r.due_at, r.body]))
                .op(OP)?;
                Ok(())
            })
            .await
    }

    pub(crate) async fn review(&self, id: &str) -> Result<Option<ReviewRecord>, StoreError> {
        const OP: &str = "read review";
        let id = id.to_owned();
        self.conns
            .run(OP, move |conn| {
                let sql = format!("SELECT {REVIEW_COLUMNS} FROM reviews WHERE id = ?");
                conn.prepare_cached(&sql)
                    .and_then(|mut stmt| stmt.query_row([&id], review).optional())
                    .op(OP)
            })
            .await
    }

    pub(crate) async fn list_reviews(
        &self,
        since: i64,
        limit: i64,
    ) -> Result<Vec<ReviewRecord>, StoreError> {
        const OP: &str = "list reviews";
        self.conns
            .run(OP, move |conn| {
                let sql = format!(
                    "SELECT {REVIEW_COLUMNS} FROM reviews WHERE opened_at >= ? \
                     ORDER BY opened_at DESC, id DESC LIMIT ?"
                );
                let mut stmt = conn.prepare_cached(&sql).op(OP)?;
                let mut found = stmt.query([since, limit]).op(OP)?;
                let mut reviews = Vec::new();
                while let Some(row) = found.next().op(OP)? {
                    reviews.push(review(row).op(OP)?);
                }
                Ok(reviews)
            })
            .await
    }

    pub(crate) async fn update_review(&self, r: &ReviewRecord) -> Result<bool, StoreError> {
        const OP: &str = "update review";
        let r = r.clone();
        self.conns
            .exclusive(OP, move |conn| {
                let updated = conn
                    .prepare_cached(
                        "UPDATE reviews SET body = ?, version = version + 1 \
                         WHERE id = ? AND version = ?",
                    )
                    .and_then(|mut stmt| stmt.execute(params![r.body, r.id, r.version]))
                    .op(OP)?;
                Ok(updated > 0)
            })
            .await
    }
}
