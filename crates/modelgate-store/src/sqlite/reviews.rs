//! Access reviews: one row per review, the document as JSON text.

use super::SqliteBackend;
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

impl SqliteBackend {
    pub(crate) async fn insert_review(&self, r: &ReviewRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO reviews (id, opened_at, due_at, body, version) VALUES (?, ?, ?, ?, 1)",
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
        let row: Option<ReviewRow> =
            sqlx::query_as("SELECT id, opened_at, due_at, body, version FROM reviews WHERE id = ?")
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
        let rows: Vec<ReviewRow> = sqlx::query_as(
            "SELECT id, opened_at, due_at, body, version FROM reviews WHERE opened_at >= ? \
             ORDER BY opened_at DESC, id DESC LIMIT ?",
        )
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("list reviews", e))?;
        Ok(rows.into_iter().map(review).collect())
    }

    pub(crate) async fn update_review(&self, r: &ReviewRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE reviews SET body = ?, version = version + 1 WHERE id = ? AND version = ?",
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
