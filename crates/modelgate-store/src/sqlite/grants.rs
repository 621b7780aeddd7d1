//! Role assignments and just-in-time grants. Every write bumps the state
//! revision in its own transaction, so replicas drop their entitlement
//! snapshots.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteBackend;
use super::revision::bump_revision;
use crate::{GrantApprovalRecord, GrantDecision, GrantRecord, RoleAssignmentRecord, StoreError};

/// Grant columns, table alias `g`. Fifteen columns.
const GRANT_COLUMNS: &str = "g.id, g.identity_id, g.role, g.requested_by, g.reason, \
     g.requested_at, g.duration_secs, g.pending_expires_at, g.approvals_required, g.state, \
     g.starts_at, g.expires_at, g.decided_by, g.decided_at, g.decision_reason";

/// Whether a grant row is still pending at `?2`.
const PENDING_AT: &str = "state = 'pending' AND pending_expires_at > ?2";

fn grant(row: &SqliteRow) -> Result<GrantRecord, StoreError> {
    const OP: &str = "read grant";
    // Decode by position; a bad column becomes a corrupt-row error.
    macro_rules! col {
        ($i:expr) => {
            row.try_get($i).map_err(|e| StoreError::from_sqlx(OP, e))?
        };
    }
    Ok(GrantRecord {
        id: col!(0),
        identity_id: col!(1),
        role: col!(2),
        requested_by: col!(3),
        reason: col!(4),
        requested_at: col!(5),
        duration_secs: col!(6),
        pending_expires_at: col!(7),
        approvals_required: col!(8),
        state: col!(9),
        starts_at: col!(10),
        expires_at: col!(11),
        decided_by: col!(12),
        decided_at: col!(13),
        decision_reason: col!(14),
        approvals: Vec::new(),
    })
}

fn assignment(row: (String, String, i64, Option<i64>, String)) -> RoleAssignmentRecord {
    let (identity_id, role, assigned_at, until, assigned_by) = row;
    RoleAssignmentRecord {
        identity_id,
        role,
        assigned_at,
        until,
        assigned_by,
    }
}

/// Reads one grant with its approvals inside `conn`.
async fn read_grant(
    conn: &mut sqlx::SqliteConnection,
    id: &str,
    op: &'static str,
) -> Result<Option<GrantRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants g WHERE g.id = ?"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| StoreError::from_sqlx(op, e))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut record = grant(&row)?;
    let approvals: Vec<(String, i64)> = sqlx::query_as(
        "SELECT approver, at FROM grant_approvals WHERE grant_id = ? ORDER BY at, approver",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| StoreError::from_sqlx(op, e))?;
    record.approvals = approvals
        .into_iter()
        .map(|(approver, at)| GrantApprovalRecord { approver, at })
        .collect();
    Ok(Some(record))
}

impl SqliteBackend {
    pub(crate) async fn assign_role(&self, r: &RoleAssignmentRecord) -> Result<(), StoreError> {
        const OP: &str = "assign role";
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        sqlx::query(
            "INSERT INTO role_assignments (identity_id, role, assigned_at, until, assigned_by) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (identity_id, role) DO UPDATE SET \
             assigned_at = excluded.assigned_at, until = excluded.until, \
             assigned_by = excluded.assigned_by",
        )
        .bind(&r.identity_id)
        .bind(&r.role)
        .bind(r.assigned_at)
        .bind(r.until)
        .bind(&r.assigned_by)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        bump_revision(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        tx.commit().await.map_err(|e| StoreError::from_sqlx(OP, e))
    }

    pub(crate) async fn unassign_role(
        &self,
        identity_id: &str,
        role: &str,
    ) -> Result<bool, StoreError> {
        const OP: &str = "unassign role";
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let done = sqlx::query("DELETE FROM role_assignments WHERE identity_id = ? AND role = ?")
            .bind(identity_id)
            .bind(role)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let removed = done.rows_affected() > 0;
        if removed {
            bump_revision(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx(OP, e))?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        Ok(removed)
    }

    pub(crate) async fn role_assignments(
        &self,
        identity_id: Option<&str>,
    ) -> Result<Vec<RoleAssignmentRecord>, StoreError> {
        let rows: Vec<(String, String, i64, Option<i64>, String)> = sqlx::query_as(
            "SELECT identity_id, role, assigned_at, until, assigned_by FROM role_assignments \
             WHERE ?1 IS NULL OR identity_id = ?1 ORDER BY identity_id, role",
        )
        .bind(identity_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("list role assignments", e))?;
        Ok(rows.into_iter().map(assignment).collect())
    }

    pub(crate) async fn insert_grant(&self, r: &GrantRecord) -> Result<(), StoreError> {
        const OP: &str = "insert grant";
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        sqlx::query(
            "INSERT INTO grants (id, identity_id, role, requested_by, reason, requested_at, \
             duration_secs, pending_expires_at, approvals_required, state, starts_at, \
             expires_at, decided_by, decided_at, decision_reason) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&r.id)
        .bind(&r.identity_id)
        .bind(&r.role)
        .bind(&r.requested_by)
        .bind(&r.reason)
        .bind(r.requested_at)
        .bind(r.duration_secs)
        .bind(r.pending_expires_at)
        .bind(r.approvals_required)
        .bind(&r.state)
        .bind(r.starts_at)
        .bind(r.expires_at)
        .bind(&r.decided_by)
        .bind(r.decided_at)
        .bind(&r.decision_reason)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        bump_revision(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        tx.commit().await.map_err(|e| StoreError::from_sqlx(OP, e))
    }

    pub(crate) async fn grant_by_id(&self, id: &str) -> Result<Option<GrantRecord>, StoreError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| StoreError::from_sqlx("read grant", e))?;
        read_grant(&mut conn, id, "read grant").await
    }

    pub(crate) async fn list_grants(
        &self,
        identity_id: Option<&str>,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        const OP: &str = "list grants";
        let rows = sqlx::query(&format!(
            "SELECT {GRANT_COLUMNS} FROM grants g WHERE ?1 IS NULL OR g.identity_id = ?1 \
             ORDER BY g.requested_at, g.id"
        ))
        .bind(identity_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let mut grants = rows.iter().map(grant).collect::<Result<Vec<_>, _>>()?;
        let approvals: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT a.grant_id, a.approver, a.at FROM grant_approvals a \
             JOIN grants g ON g.id = a.grant_id \
             WHERE ?1 IS NULL OR g.identity_id = ?1 ORDER BY a.at, a.approver",
        )
        .bind(identity_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        for (grant_id, approver, at) in approvals {
            if let Some(g) = grants.iter_mut().find(|g| g.id == grant_id) {
                g.approvals.push(GrantApprovalRecord { approver, at });
            }
        }
        Ok(grants)
    }

    pub(crate) async fn approve_grant(
        &self,
        id: &str,
        approver: &str,
        at: i64,
    ) -> Result<Option<GrantRecord>, StoreError> {
        const OP: &str = "approve grant";
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let pending: Option<(i64, i64)> = sqlx::query_as(&format!(
            "SELECT approvals_required, duration_secs FROM grants WHERE id = ?1 AND {PENDING_AT}"
        ))
        .bind(id)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let Some((required, duration)) = pending else {
            return Ok(None); // rolled back on drop
        };
        sqlx::query("INSERT INTO grant_approvals (grant_id, approver, at) VALUES (?, ?, ?)")
            .bind(id)
            .bind(approver)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(|e| match StoreError::from_sqlx(OP, e) {
                StoreError::Conflict(_) => StoreError::Conflict("grant approval".to_owned()),
                other => other,
            })?;
        let (count,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM grant_approvals WHERE grant_id = ?")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx(OP, e))?;
        if count >= required {
            sqlx::query(
                "UPDATE grants SET state = 'approved', starts_at = ?1, expires_at = ?2, \
                 decided_by = ?3, decided_at = ?1 WHERE id = ?4",
            )
            .bind(at)
            .bind(at.saturating_add(duration))
            .bind(approver)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        }
        bump_revision(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let record = read_grant(&mut tx, id, OP).await?;
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        Ok(record)
    }

    /// Moves a grant to `to` if `condition` (SQL over the row, with `?3`
    /// standing for the decision time) holds; the grant after, or `None`.
    async fn decide_grant(
        &self,
        id: &str,
        to: &str,
        condition: &str,
        decision: GrantDecision<'_>,
        op: &'static str,
    ) -> Result<Option<GrantRecord>, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| StoreError::from_sqlx(op, e))?;
        let done = sqlx::query(&format!(
            "UPDATE grants SET state = ?1, decided_by = ?2, decided_at = ?3, \
             decision_reason = ?4 WHERE id = ?5 AND ({condition})"
        ))
        .bind(to)
        .bind(decision.by)
        .bind(decision.at)
        .bind(decision.reason)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx(op, e))?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        bump_revision(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(op, e))?;
        let record = read_grant(&mut tx, id, op).await?;
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(op, e))?;
        Ok(record)
    }

    pub(crate) async fn deny_grant(
        &self,
        id: &str,
        decision: GrantDecision<'_>,
    ) -> Result<Option<GrantRecord>, StoreError> {
        let condition = "state = 'pending' AND pending_expires_at > ?3";
        self.decide_grant(id, "denied", condition, decision, "deny grant")
            .await
    }

    pub(crate) async fn revoke_grant(
        &self,
        id: &str,
        decision: GrantDecision<'_>,
    ) -> Result<Option<GrantRecord>, StoreError> {
        let condition = "(state = 'pending' AND pending_expires_at > ?3) \
                         OR (state = 'approved' AND expires_at > ?3)";
        self.decide_grant(id, "revoked", condition, decision, "revoke grant")
            .await
    }

    pub(crate) async fn active_access(
        &self,
        now: i64,
    ) -> Result<(Vec<RoleAssignmentRecord>, Vec<GrantRecord>), StoreError> {
        const OP: &str = "read active access";
        let rows: Vec<(String, String, i64, Option<i64>, String)> = sqlx::query_as(
            "SELECT identity_id, role, assigned_at, until, assigned_by FROM role_assignments \
             WHERE until IS NULL OR until > ? ORDER BY identity_id, role",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let grants = sqlx::query(&format!(
            "SELECT {GRANT_COLUMNS} FROM grants g \
             WHERE g.state = 'approved' AND g.expires_at > ? ORDER BY g.identity_id, g.id"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        Ok((
            rows.into_iter().map(assignment).collect(),
            grants.iter().map(grant).collect::<Result<Vec<_>, _>>()?,
        ))
    }
}
