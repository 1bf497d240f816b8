//! Break-glass: a case opened outside its reader's scope in an emergency, read-only and for a
//! limited time, announced in the case's event feed and reviewed by an auditor.

use chrono::{DateTime, Utc};
use retour_domain::event::EventType;
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::events::{self, NewEvent};
use crate::{Store, StoreError};

/// One use of break-glass.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakGlassUse {
    pub id: Uuid,
    pub case_id: Uuid,
    pub user_id: Uuid,
    pub institution_id: Uuid,
    pub reason: String,
    pub opened_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub reviewed_by: Option<Uuid>,
    pub review_note: Option<String>,
}

/// Which uses to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakGlassFilter {
    /// Not reviewed yet (the auditors' queue).
    Open,
    Reviewed,
    All,
}

/// Who opens a case in an emergency.
#[derive(Debug, Clone, Copy)]
pub struct Opener {
    pub user_id: Uuid,
    pub institution_id: Uuid,
}

impl Store {
    /// Opens case `case_id` for `by` until `expires_at`: the use, its event in the case's
    /// feed and `audit`, in one transaction. `None` when the case does not exist.
    pub async fn open_break_glass(
        &self,
        case_id: Uuid,
        by: Opener,
        reason: &str,
        expires_at: DateTime<Utc>,
        audit: impl FnOnce(Uuid) -> AuditEvent,
    ) -> Result<Option<BreakGlassUse>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let id = Uuid::now_v7();
        let row = sqlx::query_as!(
            BreakGlassUse,
            "insert into break_glass_uses (id, case_id, user_id, institution_id, reason, \
                 expires_at) \
             select $1, c.id, $3, $4, $5, $6 from cases c where c.id = $2 \
             returning id, case_id, user_id, institution_id, reason, opened_at, expires_at, \
                 reviewed_at, reviewed_by, review_note",
            id,
            case_id,
            by.user_id,
            by.institution_id,
            reason,
            expires_at,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(opened) = row else { return Ok(None) };
        let mut event =
            NewEvent::new(EventType::BreakGlassOpened, case_id, Some(by.institution_id));
        event.data = serde_json::json!({ "break_glass_id": id, "expires_at": expires_at });
        events::record(&mut tx, &event).await?;
        audit::record(&mut *tx, &audit(id)).await?;
        tx.commit().await?;
        Ok(Some(opened))
    }

    /// The use of break-glass that opens case `case_id` to user `user_id` now, if any.
    pub async fn open_break_glass_for(
        &self,
        user_id: Uuid,
        case_id: Uuid,
    ) -> Result<Option<BreakGlassUse>, StoreError> {
        Ok(sqlx::query_as!(
            BreakGlassUse,
            "select id, case_id, user_id, institution_id, reason, opened_at, expires_at, \
                 reviewed_at, reviewed_by, review_note \
             from break_glass_uses \
             where user_id = $1 and case_id = $2 and expires_at > now() \
             order by expires_at desc limit 1",
            user_id,
            case_id,
        )
        .fetch_optional(self.pool())
        .await?)
    }

    /// Uses of break-glass, oldest first, after `after` (an id), at most `limit`.
    pub async fn list_break_glass(
        &self,
        filter: BreakGlassFilter,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<BreakGlassUse>, StoreError> {
        Ok(sqlx::query_as!(
            BreakGlassUse,
            "select id, case_id, user_id, institution_id, reason, opened_at, expires_at, \
                 reviewed_at, reviewed_by, review_note \
             from break_glass_uses \
             where ($1 = 'all' or ($1 = 'open') = (reviewed_at is null)) \
               and id > coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid) \
             order by id limit $3",
            match filter {
                BreakGlassFilter::Open => "open",
                BreakGlassFilter::Reviewed => "reviewed",
                BreakGlassFilter::All => "all",
            },
            after,
            limit,
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Records an auditor's review of use `id`, with `audit`: the reviewed use; `Ok(Err(use))`
    /// when it was reviewed before, `NotFound` when there is no such use.
    pub async fn review_break_glass(
        &self,
        id: Uuid,
        reviewer: Uuid,
        note: &str,
        audit: &AuditEvent,
    ) -> Result<Result<BreakGlassUse, BreakGlassUse>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let current = sqlx::query_as!(
            BreakGlassUse,
            "select id, case_id, user_id, institution_id, reason, opened_at, expires_at, \
                 reviewed_at, reviewed_by, review_note \
             from break_glass_uses where id = $1 for update",
            id,
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        if current.reviewed_at.is_some() {
            return Ok(Err(current));
        }
        let reviewed = sqlx::query_as!(
            BreakGlassUse,
            "update break_glass_uses set reviewed_at = now(), reviewed_by = $2, review_note = $3 \
             where id = $1 \
             returning id, case_id, user_id, institution_id, reason, opened_at, expires_at, \
                 reviewed_at, reviewed_by, review_note",
            id,
            reviewer,
            note,
        )
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut *tx, audit).await?;
        tx.commit().await?;
        Ok(Ok(reviewed))
    }
}
