//! Who holds a case: reassigning its counsellor or SEM reviewer, SEM's four-eyes proposals,
//! and canton transfers between counselling services. Every write here runs in the caller's
//! transaction, under the case's row lock, with the history entry it leaves.

use retour_domain::governance::{
    Assignee, AssignmentRole, FourEyesKind, HoldingEvent, Proposal, ProposalStatus,
    ReceivingService, Transfer, TransferStatus,
};
use retour_domain::{CaseStatus, InstitutionKind, Role};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;
use crate::events::{self, NewEvent};
use retour_domain::event::EventType;

/// The user a case is to be assigned to, if there is one.
pub async fn assignee(conn: &mut PgConnection, id: Uuid) -> Result<Option<Assignee>, StoreError> {
    let row = sqlx::query!(
        "select id, role, institution_id, status = 'active' as \"active!\" from users where id = $1",
        id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(Assignee {
            id: r.id,
            role: Role::parse(&r.role).ok_or_else(|| StoreError::corrupt("users.role", &r.role))?,
            institution_id: r.institution_id,
            active: r.active,
        })
    })
    .transpose()
}

/// Makes `user_id` the case's counsellor or reviewer.
pub async fn reassign(
    conn: &mut PgConnection,
    case_id: Uuid,
    role: AssignmentRole,
    user_id: Uuid,
) -> Result<(), StoreError> {
    match role {
        AssignmentRole::Counsellor => {
            sqlx::query!("update cases set counsellor_id = $2 where id = $1", case_id, user_id)
                .execute(&mut *conn)
                .await?;
        }
        AssignmentRole::Reviewer => {
            sqlx::query!("update cases set reviewer_id = $2 where id = $1", case_id, user_id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Who leaves a history entry.
#[derive(Debug, Clone, Copy)]
pub struct HistoryActor {
    pub id: Uuid,
    pub institution_id: Uuid,
    pub role: Role,
}

/// Adds an entry to the case's history that is not a transition (the case stays in
/// `status`), and its event to the outbox.
pub async fn record_history(
    conn: &mut PgConnection,
    case_id: Uuid,
    event: HoldingEvent,
    status: CaseStatus,
    actor: HistoryActor,
    comment: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query!(
        "insert into case_events (id, case_id, action, from_status, to_status, actor_id, \
             actor_institution_id, actor_role, comment) \
         values ($1, $2, $3, $4, $4, $5, $6, $7, $8)",
        Uuid::now_v7(),
        case_id,
        event.as_str(),
        status.as_str(),
        actor.id,
        actor.institution_id,
        actor.role.as_str(),
        comment,
    )
    .execute(&mut *conn)
    .await?;
    let announced =
        NewEvent::new(EventType::of_holding(event), case_id, Some(actor.institution_id))
            .data(serde_json::json!({ "status": status }));
    events::record(conn, &announced).await
}

/// Whether the installation requires a second SEM officer for `kind` (its
/// `four_eyes_rules`; a kind without a row needs one).
pub async fn four_eyes_required(
    conn: &mut PgConnection,
    kind: FourEyesKind,
) -> Result<bool, StoreError> {
    let required =
        sqlx::query_scalar!("select required from four_eyes_rules where kind = $1", kind.as_str(),)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(required.unwrap_or(true))
}

/// A proposal as SEM reads it, with `$1`'s rows aliased `p`.
macro_rules! proposal_json {
    ($from:literal, $($arg:expr),* $(,)?) => {
        sqlx::query_scalar!(
            "select json_build_object('id', p.id, 'case_id', p.case_id, 'kind', p.kind, \
                 'transition', p.transition, 'reclaim_id', p.reclaim_id, \
                 'justification', p.justification, 'status', p.status, \
                 'proposed_by', p.proposed_by, 'proposed_by_name', u.display_name, \
                 'proposed_at', p.proposed_at, 'decided_by', p.decided_by, \
                 'decided_at', p.decided_at, 'return_reason', p.return_reason) \
                 as \"proposal!: Json<Proposal>\" " + $from,
            $($arg),*
        )
    };
}

/// A new open proposal. [`StoreError::Conflict`]-like uniqueness is the caller's to check
/// first ([`open_proposal`]); the unique index keeps two from being open at once.
pub struct NewProposalRow<'a> {
    pub case_id: Uuid,
    pub kind: FourEyesKind,
    pub transition: Option<serde_json::Value>,
    pub reclaim_id: Option<Uuid>,
    pub justification: &'a str,
    pub proposed_by: Uuid,
}

pub async fn insert_proposal(
    conn: &mut PgConnection,
    new: NewProposalRow<'_>,
) -> Result<Proposal, StoreError> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into case_proposals (id, case_id, kind, transition, reclaim_id, justification, \
             proposed_by) values ($1, $2, $3, $4, $5, $6, $7)",
        id,
        new.case_id,
        new.kind.as_str(),
        new.transition,
        new.reclaim_id,
        new.justification,
        new.proposed_by,
    )
    .execute(&mut *conn)
    .await?;
    proposal(conn, new.case_id, id).await?.ok_or(StoreError::NotFound)
}

/// Proposal `id` of the case, if it is one of its proposals.
pub async fn proposal(
    conn: &mut PgConnection,
    case_id: Uuid,
    id: Uuid,
) -> Result<Option<Proposal>, StoreError> {
    let row = proposal_json!(
        "from case_proposals p join users u on u.id = p.proposed_by \
         where p.id = $1 and p.case_id = $2",
        id,
        case_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|Json(p)| p))
}

/// The case's open proposal, if it has one.
pub async fn open_proposal(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Option<Proposal>, StoreError> {
    let row = proposal_json!(
        "from case_proposals p join users u on u.id = p.proposed_by \
         where p.case_id = $1 and p.status = 'open'",
        case_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|Json(p)| p))
}

/// Every proposal of the case, oldest first.
pub async fn list_proposals(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Vec<Proposal>, StoreError> {
    let rows = proposal_json!(
        "from case_proposals p join users u on u.id = p.proposed_by \
         where p.case_id = $1 order by p.proposed_at, p.id",
        case_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|Json(p)| p).collect())
}

/// Closes an open proposal as confirmed or returned by `officer`; `false` when it was not
/// open any more (the caller holds the case's row lock, so this only guards the invariant).
pub async fn settle_proposal(
    conn: &mut PgConnection,
    id: Uuid,
    status: ProposalStatus,
    officer: Uuid,
    return_reason: Option<&str>,
) -> Result<bool, StoreError> {
    let done = sqlx::query!(
        "update case_proposals set status = $2, decided_by = $3, decided_at = now(), \
             return_reason = $4 \
         where id = $1 and status = 'open'",
        id,
        status.as_str(),
        officer,
        return_reason,
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Closes the case's open proposal, if any, because the case moved on another way.
pub async fn supersede_open_proposal(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<(), StoreError> {
    sqlx::query!(
        "update case_proposals set status = 'superseded', decided_at = now() \
         where case_id = $1 and status = 'open'",
        case_id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The institution a transfer would hand a case to, if it exists.
pub async fn receiving_service(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ReceivingService>, StoreError> {
    let row = sqlx::query!("select id, kind, active, canton from institutions where id = $1", id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| ReceivingService {
        id: r.id,
        is_counselling_service: r.kind == InstitutionKind::CounsellingService.as_str(),
        active: r.active,
        canton: r.canton,
    }))
}

/// A transfer of the table aliased `t` with the case `c`, as the two services read it.
macro_rules! transfer_json {
    ($from:literal, $($arg:expr),* $(,)?) => {
        sqlx::query_scalar!(
            "select json_build_object('id', t.id, 'case_id', t.case_id, \
                 'reference', c.reference, 'from_service_id', t.from_service_id, \
                 'from_service_name', f.name, 'to_service_id', t.to_service_id, \
                 'to_service_name', s.name, 'reason', t.reason, 'status', t.status, \
                 'proposed_by', t.proposed_by, 'proposed_at', t.proposed_at, \
                 'decided_by', t.decided_by, 'decided_at', t.decided_at, \
                 'decline_reason', t.decline_reason, \
                 'principal', (select json_build_object('surname', p.surname, \
                     'given_names', p.given_names, 'date_of_birth', p.date_of_birth) \
                     from case_persons p where p.case_id = t.case_id \
                       and p.relationship = 'principal' limit 1)) \
                 as \"transfer!: Json<Transfer>\" \
             from case_transfers t join cases c on c.id = t.case_id \
                 join institutions f on f.id = t.from_service_id \
                 join institutions s on s.id = t.to_service_id " + $from,
            $($arg),*
        )
    };
}

/// Records a pending transfer and marks the case with its receiving service.
pub async fn insert_transfer(
    conn: &mut PgConnection,
    case_id: Uuid,
    from_service_id: Uuid,
    to_service_id: Uuid,
    reason: &str,
    proposed_by: Uuid,
) -> Result<Transfer, StoreError> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "with t as (insert into case_transfers (id, case_id, from_service_id, to_service_id, \
             reason, proposed_by) values ($1, $2, $3, $4, $5, $6) returning case_id) \
         update cases set transfer_to_service_id = $4 where id = (select case_id from t)",
        id,
        case_id,
        from_service_id,
        to_service_id,
        reason,
        proposed_by,
    )
    .execute(&mut *conn)
    .await?;
    transfer(conn, id).await?.ok_or(StoreError::NotFound)
}

async fn transfer(conn: &mut PgConnection, id: Uuid) -> Result<Option<Transfer>, StoreError> {
    let row = transfer_json!("where t.id = $1", id).fetch_optional(&mut *conn).await?;
    Ok(row.map(|Json(t)| t))
}

/// The case's pending transfer, if it has one.
pub async fn pending_transfer(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Option<Transfer>, StoreError> {
    let row = transfer_json!("where t.case_id = $1 and t.status = 'pending'", case_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|Json(t)| t))
}

/// Hands the case to the receiving service: its service, canton and counsellor change, the
/// reference stays. The counselling service's canton replaces the case's location.
pub async fn accept_transfer(
    conn: &mut PgConnection,
    transfer: &Transfer,
    counsellor_id: Uuid,
    decided_by: Uuid,
) -> Result<Transfer, StoreError> {
    sqlx::query!(
        "with t as (update case_transfers set status = 'accepted', decided_by = $2, \
                 decided_at = now(), counsellor_id = $3 \
             where id = $1 and status = 'pending' returning case_id, to_service_id) \
         update cases c set counselling_service_id = t.to_service_id, counsellor_id = $3, \
             canton = i.canton, federal_region = null, transfer_to_service_id = null \
         from t join institutions i on i.id = t.to_service_id where c.id = t.case_id",
        transfer.id,
        decided_by,
        counsellor_id,
    )
    .execute(&mut *conn)
    .await?;
    self::transfer(conn, transfer.id).await?.ok_or(StoreError::NotFound)
}

/// The receiving service declines: the case stays where it is.
pub async fn decline_transfer(
    conn: &mut PgConnection,
    transfer: &Transfer,
    reason: &str,
    decided_by: Uuid,
) -> Result<Transfer, StoreError> {
    sqlx::query!(
        "with t as (update case_transfers set status = 'declined', decided_by = $2, \
                 decided_at = now(), decline_reason = $3 \
             where id = $1 and status = 'pending' returning case_id) \
         update cases set transfer_to_service_id = null where id = (select case_id from t)",
        transfer.id,
        decided_by,
        reason,
    )
    .execute(&mut *conn)
    .await?;
    self::transfer(conn, transfer.id).await?.ok_or(StoreError::NotFound)
}

/// The transfers a counselling service sent or received, newest first, optionally only those
/// in `status`; at most `limit`.
pub async fn list_transfers(
    conn: &mut PgConnection,
    service_id: Uuid,
    incoming: bool,
    status: Option<TransferStatus>,
    limit: i64,
) -> Result<Vec<Transfer>, StoreError> {
    let status = status.map(TransferStatus::as_str);
    let rows = if incoming {
        transfer_json!(
            "where t.to_service_id = $1 and ($2::text is null or t.status = $2) \
             order by t.proposed_at desc, t.id desc limit $3",
            service_id,
            status,
            limit,
        )
        .fetch_all(&mut *conn)
        .await?
    } else {
        transfer_json!(
            "where t.from_service_id = $1 and ($2::text is null or t.status = $2) \
             order by t.proposed_at desc, t.id desc limit $3",
            service_id,
            status,
            limit,
        )
        .fetch_all(&mut *conn)
        .await?
    };
    Ok(rows.into_iter().map(|Json(t)| t).collect())
}
