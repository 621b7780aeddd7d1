//! Role assignments and just-in-time grants. Every write bumps the state
//! revision in its own transaction, so replicas drop their entitlement
//! snapshots.
//!
//! Concurrency: PostgreSQL runs these transactions at READ COMMITTED and
//! side by side, where SQLite's `BEGIN IMMEDIATE` serialised them. Every
//! change of a grant's state therefore goes through the grant's row lock:
//! `approve_grant` takes it with `SELECT ... FOR UPDATE` before counting
//! approvals, and `deny_grant`/`revoke_grant` are one conditional
//! `UPDATE ... WHERE <still pending/active>`, which waits for that lock and
//! re-checks its condition on the row as committed. The grant row is always
//! locked before the state revision row (`bump_revision`), so the two locks
//! are taken in one order everywhere.
//!
//! Text columns are ordered `COLLATE "C"` (byte order), as SQLite's
//! default `BINARY` collation orders them, whatever the database's locale.

use sqlx::postgres::PgRow;

use super::PgBackend;
use super::revision::bump_revision;
use crate::rows::Record;
use crate::{GrantApprovalRecord, GrantDecision, GrantRecord, RoleAssignmentRecord, StoreError};

/// Grant columns, table alias `g`. Fifteen columns.
const GRANT_COLUMNS: &str = "g.id, g.identity_id, g.role, g.requested_by, g.reason, \
     g.requested_at, g.duration_secs, g.pending_expires_at, g.approvals_required, g.state, \
     g.starts_at, g.expires_at, g.decided_by, g.decided_at, g.decision_reason";

/// Role assignment columns, in the order [`assignment`] reads them.
const ASSIGNMENT_COLUMNS: &str = "identity_id, role, assigned_at, until, assigned_by";

type AssignmentRow = (String, String, i64, Option<i64>, String);

fn grant(row: &PgRow) -> Result<GrantRecord, StoreError> {
    const OP: &str = "read grant";
    Ok(GrantRecord {
        id: row.text(0, OP)?,
        identity_id: row.text(1, OP)?,
        role: row.text(2, OP)?,
        requested_by: row.text(3, OP)?,
        reason: row.text(4, OP)?,
        requested_at: row.int(5, OP)?,
        duration_secs: row.int(6, OP)?,
        pending_expires_at: row.int(7, OP)?,
        approvals_required: row.int(8, OP)?,
        state: row.text(9, OP)?,
        starts_at: row.opt_int(10, OP)?,
        expires_at: row.opt_int(11, OP)?,
        decided_by: row.opt_text(12, OP)?,
        decided_at: row.opt_int(13, OP)?,
        decision_reason: row.opt_text(14, OP)?,
        approvals: Vec::new(),
    })
}

fn assignment(row: AssignmentRow) -> RoleAssignmentRecord {
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
    conn: &mut sqlx::PgConnection,
    id: &str,
    op: &'static str,
) -> Result<Option<GrantRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants g WHERE g.id = $1"
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
        "SELECT approver, at FROM grant_approvals WHERE grant_id = $1 \
         ORDER BY at, approver COLLATE \"C\"",
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

impl PgBackend {
    pub(crate) async fn assign_role(&self, r: &RoleAssignmentRecord) -> Result<(), StoreError> {
        const OP: &str = "assign role";
        let err = |e| StoreError::from_sqlx(OP, e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        // One statement: the upsert is atomic on its own.
        sqlx::query(&format!(
            "INSERT INTO role_assignments ({ASSIGNMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (identity_id, role) DO UPDATE SET \
             assigned_at = excluded.assigned_at, until = excluded.until, \
             assigned_by = excluded.assigned_by"
        ))
        .bind(&r.identity_id)
        .bind(&r.role)
        .bind(r.assigned_at)
        .bind(r.until)
        .bind(&r.assigned_by)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        bump_revision(&mut *tx).await.map_err(err)?;
        tx.commit().await.map_err(err)
    }

    pub(crate) async fn unassign_role(
        &self,
        identity_id: &str,
        role: &str,
    ) -> Result<bool, StoreError> {
        const OP: &str = "unassign role";
        let err = |e| StoreError::from_sqlx(OP, e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        // A concurrent delete of the same row waits for ours and then finds
        // nothing: exactly one caller sees `true` and bumps.
        let done = sqlx::query("DELETE FROM role_assignments WHERE identity_id = $1 AND role = $2")
            .bind(identity_id)
            .bind(role)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let removed = done.rows_affected() > 0;
        if removed {
            bump_revision(&mut *tx).await.map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        Ok(removed)
    }

    pub(crate) async fn role_assignments(
        &self,
        identity_id: Option<&str>,
    ) -> Result<Vec<RoleAssignmentRecord>, StoreError> {
        let rows: Vec<AssignmentRow> = sqlx::query_as(&format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM role_assignments \
             WHERE $1::TEXT IS NULL OR identity_id = $1 \
             ORDER BY identity_id COLLATE \"C\", role COLLATE \"C\""
        ))
        .bind(identity_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("list role assignments", e))?;
        Ok(rows.into_iter().map(assignment).collect())
    }

    pub(crate) async fn insert_grant(&self, r: &GrantRecord) -> Result<(), StoreError> {
        const OP: &str = "insert grant";
        let err = |e| StoreError::from_sqlx(OP, e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query(
            "INSERT INTO grants (id, identity_id, role, requested_by, reason, requested_at, \
             duration_secs, pending_expires_at, approvals_required, state, starts_at, \
             expires_at, decided_by, decided_at, decision_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
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
        .map_err(err)?;
        bump_revision(&mut *tx).await.map_err(err)?;
        tx.commit().await.map_err(err)
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
            "SELECT {GRANT_COLUMNS} FROM grants g WHERE $1::TEXT IS NULL OR g.identity_id = $1 \
             ORDER BY g.requested_at, g.id COLLATE \"C\""
        ))
        .bind(identity_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let mut grants = rows.iter().map(grant).collect::<Result<Vec<_>, _>>()?;
        let approvals: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT a.grant_id, a.approver, a.at FROM grant_approvals a \
             JOIN grants g ON g.id = a.grant_id \
             WHERE $1::TEXT IS NULL OR g.identity_id = $1 \
             ORDER BY a.at, a.approver COLLATE \"C\"",
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
        let err = |e| StoreError::from_sqlx(OP, e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        // Row lock (SELECT ... FOR UPDATE): concurrent approvals, denials
        // and revocations of this grant queue here, and a waiter re-checks
        // "still pending" on the row as the winner committed it. Holding
        // the lock, the count below sees every committed approval (READ
        // COMMITTED reads afresh per statement) and no other can commit
        // before ours: the grant flips to approved exactly once.
        let pending: Option<(i64, i64)> = sqlx::query_as(
            "SELECT approvals_required, duration_secs FROM grants \
             WHERE id = $1 AND state = 'pending' AND pending_expires_at > $2 FOR UPDATE",
        )
        .bind(id)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?;
        let Some((required, duration)) = pending else {
            return Ok(None); // rolled back on drop
        };
        sqlx::query("INSERT INTO grant_approvals (grant_id, approver, at) VALUES ($1, $2, $3)")
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
            sqlx::query_as("SELECT count(*) FROM grant_approvals WHERE grant_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(err)?;
        if count >= required {
            sqlx::query(
                "UPDATE grants SET state = 'approved', starts_at = $1, expires_at = $2, \
                 decided_by = $3, decided_at = $1 WHERE id = $4",
            )
            .bind(at)
            .bind(at.saturating_add(duration))
            .bind(approver)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        bump_revision(&mut *tx).await.map_err(err)?;
        let record = read_grant(&mut tx, id, OP).await?;
        tx.commit().await.map_err(err)?;
        Ok(record)
    }

    /// Moves a grant to `to` if `condition` (SQL over the row, with `$3`
    /// standing for the decision time) holds; the grant after, or `None`.
    ///
    /// One conditional `UPDATE`: it takes the grant's row lock (waiting for
    /// an approval in flight) and re-evaluates `condition` on the row as
    /// committed, so a decision racing an approval sees its outcome.
    async fn decide_grant(
        &self,
        id: &str,
        to: &str,
        condition: &str,
        decision: GrantDecision<'_>,
        op: &'static str,
    ) -> Result<Option<GrantRecord>, StoreError> {
        let err = |e| StoreError::from_sqlx(op, e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        let done = sqlx::query(&format!(
            "UPDATE grants SET state = $1, decided_by = $2, decided_at = $3, \
             decision_reason = $4 WHERE id = $5 AND ({condition})"
        ))
        .bind(to)
        .bind(decision.by)
        .bind(decision.at)
        .bind(decision.reason)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        bump_revision(&mut *tx).await.map_err(err)?;
        let record = read_grant(&mut tx, id, op).await?;
        tx.commit().await.map_err(err)?;
        Ok(record)
    }

    pub(crate) async fn deny_grant(
        &self,
        id: &str,
        decision: GrantDecision<'_>,
    ) -> Result<Option<GrantRecord>, StoreError> {
        let condition = "state = 'pending' AND pending_expires_at > $3";
        self.decide_grant(id, "denied", condition, decision, "deny grant")
            .await
    }

    pub(crate) async fn revoke_grant(
        &self,
        id: &str,
        decision: GrantDecision<'_>,
    ) -> Result<Option<GrantRecord>, StoreError> {
        let condition = "(state = 'pending' AND pending_expires_at > $3) \
                         OR (state = 'approved' AND expires_at > $3)";
        self.decide_grant(id, "revoked", condition, decision, "revoke grant")
            .await
    }

    pub(crate) async fn active_access(
        &self,
        now: i64,
    ) -> Result<(Vec<RoleAssignmentRecord>, Vec<GrantRecord>), StoreError> {
        const OP: &str = "read active access";
        let rows: Vec<AssignmentRow> = sqlx::query_as(&format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM role_assignments \
             WHERE until IS NULL OR until > $1 \
             ORDER BY identity_id COLLATE \"C\", role COLLATE \"C\""
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let grants = sqlx::query(&format!(
            "SELECT {GRANT_COLUMNS} FROM grants g \
             WHERE g.state = 'approved' AND g.expires_at > $1 \
             ORDER BY g.identity_id COLLATE \"C\", g.id COLLATE \"C\""
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
