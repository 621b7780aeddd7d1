//! Access reviews: one row per review, the document as JSON text.

use super::PgBackend;
use crate::{ReviewRecord, StoreError};

type ReviewRow = (String, i64, i64, String, i64);

fn review(row: ReviewRow) -> ReviewRecord {
    let (id, opened_at, due_at, body, version) = row;
    ReviewRecord {
        id,
        opened_at,
        due_at,
        body,
        version,
    }
}

impl PgBackend {
    pub(crate) async fn insert_review(&self, r: &ReviewRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO reviews (id, opened_at, due_at, body, version) \
             VALUES ($1, $2, $3, $4, 1)",
        )
        .bind(&r.id)
        .bind(r.opened_at)
        .bind(r.due_at)
        .bind(&r.body)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("insert review", e))?;
        Ok(())
    }

    pub(crate) async fn review(&self, id: &str) -> Result<Option<ReviewRecord>, StoreError> {
        let row: Option<ReviewRow> = sqlx::query_as(
            "SELECT id, opened_at, due_at, body, version FROM reviews WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("read review", e))?;
        Ok(row.map(review))
    }

    pub(crate) async fn list_reviews(
        &self,
        since: i64,
        limit: i64,
    ) -> Result<Vec<ReviewRecord>, StoreError> {
        // Ids in byte order (`COLLATE "C"`), as SQLite's BINARY orders them.
        // SQLite reads a negative LIMIT as none; PostgreSQL's is NULL.
        let rows: Vec<ReviewRow> = sqlx::query_as(
            "SELECT id, opened_at, due_at, body, version FROM reviews WHERE opened_at >= $1 \
             ORDER BY opened_at DESC, id COLLATE \"C\" DESC \
             LIMIT $2",
        )
        .bind(since)
        .bind((limit >= 0).then_some(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("list reviews", e))?;
        Ok(rows.into_iter().map(review).collect())
    }

    pub(crate) async fn update_review(&self, r: &ReviewRecord) -> Result<bool, StoreError> {
        // Compare-and-swap as one conditional UPDATE: a concurrent writer of
        // the same version waits for the row lock, re-checks `version` on
        // the committed row and matches nothing, so exactly one wins.
        let done = sqlx::query(
            "UPDATE reviews SET body = $1, version = version + 1 WHERE id = $2 AND version = $3",
        )
        .bind(&r.body)
        .bind(&r.id)
        .bind(r.version)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("update review", e))?;
        Ok(done.rows_affected() > 0)
    }
}
