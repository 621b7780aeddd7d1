//! Role assignments and just-in-time grants. Every write bumps the state
//! revision in its own transaction, so replicas drop their entitlement
//! snapshots.

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteBackend;
use super::connections::Op;
use super::revision::bump;
use crate::rows::Record;
use crate::{GrantApprovalRecord, GrantDecision, GrantRecord, RoleAssignmentRecord, StoreError};

/// Grant columns, table alias `g`. Fifteen columns.
const GRANT_COLUMNS: &str = "g.id, g.identity_id, g.role, g.requested_by, g.reason, \
     g.requested_at, g.duration_secs, g.pending_expires_at, g.approvals_required, g.state, \
     g.starts_at, g.expires_at, g.decided_by, g.decided_at, g.decision_reason";

/// Whether a grant row is still pending at `?2`.
const PENDING_AT: &str = "state = 'pending' AND pending_expires_at > ?2";

fn grant(row: &rusqlite::Row<'_>) -> Result<GrantRecord, StoreError> {
    const OP: &str = "read grant";
    // Decode by position; a bad column becomes a corrupt-row error.
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

/// Decodes `identity_id, role, assigned_at, until, assigned_by`.
fn assignment(
    row: &rusqlite::Row<'_>,
    op: &'static str,
) -> Result<RoleAssignmentRecord, StoreError> {
    Ok(RoleAssignmentRecord {
        identity_id: row.text(0, op)?,
        role: row.text(1, op)?,
        assigned_at: row.int(2, op)?,
        until: row.opt_int(3, op)?,
        assigned_by: row.text(4, op)?,
    })
}

/// Reads role assignments selected by `sql` (the five assignment columns).
fn read_assignments(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
    op: &'static str,
) -> Result<Vec<RoleAssignmentRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).op(op)?;
    let mut found = stmt.query(args).op(op)?;
    let mut assignments = Vec::new();
    while let Some(row) = found.next().op(op)? {
        assignments.push(assignment(row, op)?);
    }
    Ok(assignments)
}

/// Reads grants selected by `sql` (the [`GRANT_COLUMNS`]), without their
/// approvals.
fn read_grants(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
    op: &'static str,
) -> Result<Vec<GrantRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).op(op)?;
    let mut found = stmt.query(args).op(op)?;
    let mut grants = Vec::new();
    while let Some(row) = found.next().op(op)? {
        grants.push(grant(row)?);
    }
    Ok(grants)
}

/// Reads one grant with its approvals on `conn` (inside the caller's
/// transaction, if any).
fn read_grant(
    conn: &Connection,
    id: &str,
    op: &'static str,
) -> Result<Option<GrantRecord>, StoreError> {
    let sql = format!("SELECT {GRANT_COLUMNS} FROM grants g WHERE g.id = ?");
    let Some(mut record) = read_grants(conn, &sql, [id], op)?.pop() else {
        return Ok(None);
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT approver, at FROM grant_approvals WHERE grant_id = ? ORDER BY at, approver",
        )
        .op(op)?;
    let mut approvals = stmt.query([id]).op(op)?;
    while let Some(row) = approvals.next().op(op)? {
        record.approvals.push(GrantApprovalRecord {
            approver: row.text(0, op)?,
            at: row.int(1, op)?,
        });
    }
    Ok(Some(record))
}

impl SqliteBackend {
    pub(crate) async fn assign_role(&self, r: &RoleAssignmentRecord) -> Result<(), StoreError> {
        const OP: &str = "assign role";
        let r = r.clone();
        self.conns
            .write(OP, move |tx| {
                tx.prepare_cached(
                    "INSERT INTO role_assignments \
                     (identity_id, role, assigned_at, until, assigned_by) \
                     VALUES (?, ?, ?, ?, ?) ON CONFLICT (identity_id, role) DO UPDATE SET \
                     assigned_at = excluded.assigned_at, until = excluded.until, \
                     assigned_by = excluded.assigned_by",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        r.identity_id,
                        r.role,
                        r.assigned_at,
                        r.until,
                        r.assigned_by,
                    ])
                })
                .op(OP)?;
                bump(tx).op(OP)
            })
            .await
    }

    pub(crate) async fn unassign_role(
        &self,
        identity_id: &str,
        role: &str,
    ) -> Result<bool, StoreError> {
        const OP: &str = "unassign role";
        let identity_id = identity_id.to_owned();
        let role = role.to_owned();
        self.conns
            .write(OP, move |tx| {
                let removed = tx
                    .prepare_cached(
                        "DELETE FROM role_assignments WHERE identity_id = ? AND role = ?",
                    )
                    .and_then(|mut stmt| stmt.execute(params![identity_id, role]))
                    .op(OP)?
                    > 0;
                if removed {
                    bump(tx).op(OP)?;
                }
                Ok(removed)
            })
            .await
    }

    pub(crate) async fn role_assignments(
        &self,
        identity_id: Option<&str>,
    ) -> Result<Vec<RoleAssignmentRecord>, StoreError> {
        const OP: &str = "list role assignments";
        let identity_id = identity_id.map(str::to_owned);
        self.conns
            .run(OP, move |conn| {
                read_assignments(
                    conn,
                    "SELECT identity_id, role, assigned_at, until, assigned_by \
                     FROM role_assignments \
                     WHERE ?1 IS NULL OR identity_id = ?1 ORDER BY identity_id, role",
                    [&identity_id],
                    OP,
                )
            })
            .await
    }

    pub(crate) async fn insert_grant(&self, r: &GrantRecord) -> Result<(), StoreError> {
        const OP: &str = "insert grant";
        let r = r.clone();
        self.conns
            .write(OP, move |tx| {
                tx.prepare_cached(
                    "INSERT INTO grants (id, identity_id, role, requested_by, reason, \
                     requested_at, duration_secs, pending_expires_at, approvals_required, \
                     state, starts_at, expires_at, decided_by, decided_at, decision_reason) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        r.id,
                        r.identity_id,
                        r.role,
                        r.requested_by,
                        r.reason,
                        r.requested_at,
                        r.duration_secs,
                        r.pending_expires_at,
                        r.approvals_required,
                        r.state,
                        r.starts_at,
                        r.expires_at,
                        r.decided_by,
                        r.decided_at,
                        r.decision_reason,
                    ])
                })
                .op(OP)?;
                bump(tx).op(OP)
            })
            .await
    }

    // The reads below are of several statements each (a grant and its
    // approvals, assignments and grants): one read transaction, so a write
    // landing between them is in all of them or none.
    pub(crate) async fn grant_by_id(&self, id: &str) -> Result<Option<GrantRecord>, StoreError> {
        const OP: &str = "read grant";
        let id = id.to_owned();
        self.conns.read(OP, move |tx| read_grant(tx, &id, OP)).await
    }

    pub(crate) async fn list_grants(
        &self,
        identity_id: Option<&str>,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        const OP: &str = "list grants";
        let identity_id = identity_id.map(str::to_owned);
        self.conns
            .read(OP, move |tx| {
                let sql = format!(
                    "SELECT {GRANT_COLUMNS} FROM grants g \
                     WHERE ?1 IS NULL OR g.identity_id = ?1 ORDER BY g.requested_at, g.id"
                );
                let mut grants = read_grants(tx, &sql, [&identity_id], OP)?;
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT a.grant_id, a.approver, a.at FROM grant_approvals a \
                         JOIN grants g ON g.id = a.grant_id \
                         WHERE ?1 IS NULL OR g.identity_id = ?1 ORDER BY a.at, a.approver",
                    )
                    .op(OP)?;
                let mut approvals = stmt.query([&identity_id]).op(OP)?;
                while let Some(row) = approvals.next().op(OP)? {
                    let grant_id = row.text(0, OP)?;
                    let approval = GrantApprovalRecord {
                        approver: row.text(1, OP)?,
                        at: row.int(2, OP)?,
                    };
                    if let Some(g) = grants.iter_mut().find(|g| g.id == grant_id) {
                        g.approvals.push(approval);
                    }
                }
                Ok(grants)
            })
            .await
    }

    pub(crate) async fn approve_grant(
        &self,
        id: &str,
        approver: &str,
        at: i64,
    ) -> Result<Option<GrantRecord>, StoreError> {
        const OP: &str = "approve grant";
        let id = id.to_owned();
        let approver = approver.to_owned();
        self.conns
            .write(OP, move |tx| {
                let pending: Option<(i64, i64)> = tx
                    .prepare_cached(&format!(
                        "SELECT approvals_required, duration_secs FROM grants \
                         WHERE id = ?1 AND {PENDING_AT}"
                    ))
                    .and_then(|mut stmt| {
                        stmt.query_row(params![id, at], |row| Ok((row.get(0)?, row.get(1)?)))
                            .optional()
                    })
                    .op(OP)?;
                let Some((required, duration)) = pending else {
                    return Ok(None); // nothing written: an empty commit
                };
                tx.prepare_cached(
                    "INSERT INTO grant_approvals (grant_id, approver, at) VALUES (?, ?, ?)",
                )
                .and_then(|mut stmt| stmt.execute(params![id, approver, at]))
                .map_err(|e| match StoreError::from_rusqlite(OP, e) {
                    StoreError::Conflict(_) => StoreError::Conflict("grant approval".to_owned()),
                    other => other,
                })?;
                let count: i64 = tx
                    .prepare_cached("SELECT count(*) FROM grant_approvals WHERE grant_id = ?")
                    .and_then(|mut stmt| stmt.query_row([&id], |row| row.get(0)))
                    .op(OP)?;
                if count >= required {
                    tx.prepare_cached(
                        "UPDATE grants SET state = 'approved', starts_at = ?1, expires_at = ?2, \
                         decided_by = ?3, decided_at = ?1 WHERE id = ?4",
                    )
                    .and_then(|mut stmt| {
                        stmt.execute(params![at, at.saturating_add(duration), approver, id])
                    })
                    .op(OP)?;
                }
                bump(tx).op(OP)?;
                read_grant(tx, &id, OP)
            })
            .await
    }

    /// Moves a grant to `to` if `condition` (SQL over the row, with `?3`
    /// standing for the decision time) holds; the grant after, or `None`.
    async fn decide_grant(
        &self,
        id: &str,
        to: &'static str,
        condition: &'static str,
        decision: GrantDecision<'_>,
        op: &'static str,
    ) -> Result<Option<GrantRecord>, StoreError> {
        let id = id.to_owned();
        let by = decision.by.to_owned();
        let at = decision.at;
        let reason = decision.reason.map(str::to_owned);
        self.conns
            .write(op, move |tx| {
                let changed = tx
                    .prepare_cached(&format!(
                        "UPDATE grants SET state = ?1, decided_by = ?2, decided_at = ?3, \
                         decision_reason = ?4 WHERE id = ?5 AND ({condition})"
                    ))
                    .and_then(|mut stmt| stmt.execute(params![to, by, at, reason, id]))
                    .op(op)?;
                if changed == 0 {
                    return Ok(None); // nothing written: an empty commit
                }
                bump(tx).op(op)?;
                read_grant(tx, &id, op)
            })
            .await
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
        self.conns
            .read(OP, move |tx| {
                let assignments = read_assignments(
                    tx,
                    "SELECT identity_id, role, assigned_at, until, assigned_by \
                     FROM role_assignments \
                     WHERE until IS NULL OR until > ? ORDER BY identity_id, role",
                    [now],
                    OP,
                )?;
                let sql = format!(
                    "SELECT {GRANT_COLUMNS} FROM grants g \
                     WHERE g.state = 'approved' AND g.expires_at > ? ORDER BY g.identity_id, g.id"
                );
                let grants = read_grants(tx, &sql, [now], OP)?;
                Ok((assignments, grants))
            })
            .await
    }
}
