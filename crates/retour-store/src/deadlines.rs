//! The deadlines of cases: opened and closed in the transaction of the change that causes
//! them (a transition, a planned monitoring visit), extended by SEM, marked overdue by the
//! overdue job, and the work queue that lists what waits for whom.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::deadline::{
    Counting, DeadlineChanges, DeadlineKind, DeadlineRule, Extension, QueueOwner,
};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::audit::{self, AuditActor, AuditEvent, Outcome};
use crate::events::{self, NewEvent};
use crate::{Store, StoreError};
use retour_domain::event::EventType;

/// The rule of `kind` as configured (`deadline_rules`).
pub async fn rule(conn: &mut PgConnection, kind: DeadlineKind) -> Result<DeadlineRule, StoreError> {
    let row = sqlx::query!(
        "select counting, length_days from deadline_rules where kind = $1",
        kind.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    let counting = Counting::parse(&row.counting)
        .ok_or_else(|| StoreError::corrupt("deadline_rules.counting", &row.counting))?;
    let length_days = row
        .length_days
        .map(|n| {
            u32::try_from(n)
                .map_err(|_| StoreError::corrupt("deadline_rules.length_days", &n.to_string()))
        })
        .transpose()?;
    Ok(DeadlineRule { kind, counting, length_days })
}

/// Opens a deadline of `kind` on case `case_id` (about `subject_id`, where the case has
/// several of the kind), due by its rule from `today`, or on `own_date` for a rule that
/// takes the change's own date. Returns its id.
pub async fn open_deadline(
    conn: &mut PgConnection,
    case_id: Uuid,
    kind: DeadlineKind,
    subject_id: Option<Uuid>,
    own_date: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Uuid, StoreError> {
    let rule = rule(conn, kind).await?;
    let due_on = rule
        .due_on(today, own_date)
        .ok_or_else(|| StoreError::corrupt("deadline_rules.length_days", kind.as_str()))?;
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into case_deadlines (id, case_id, kind, subject_id, due_on) \
         values ($1, $2, $3, $4, $5)",
        id,
        case_id,
        kind.as_str(),
        subject_id,
        due_on,
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Closes the open deadline of `kind` (about `subject_id`) of case `case_id`, if there is
/// one; returns whether there was. Called in the transaction of the change that meets it
/// (a transition, a planned visit recorded as done).
pub async fn close_deadline(
    conn: &mut PgConnection,
    case_id: Uuid,
    kind: DeadlineKind,
    subject_id: Option<Uuid>,
) -> Result<bool, StoreError> {
    let closed = sqlx::query!(
        "update case_deadlines set closed_at = greatest(now(), opened_at) \
         where case_id = $1 and kind = $2 and subject_id is not distinct from $3 \
             and closed_at is null",
        case_id,
        kind.as_str(),
        subject_id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(closed.rows_affected() > 0)
}

/// Closes every open deadline of case `case_id` (the case ended).
pub async fn close_all_deadlines(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<u64, StoreError> {
    let closed = sqlx::query!(
        "update case_deadlines set closed_at = greatest(now(), opened_at) \
         where case_id = $1 and closed_at is null",
        case_id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(closed.rows_affected())
}

/// Applies a transition's `changes` to the deadlines of case `case_id`: closes, then opens
/// (due from `today`, or on `own_date`, the booked departure).
pub async fn apply_changes(
    conn: &mut PgConnection,
    case_id: Uuid,
    changes: DeadlineChanges,
    own_date: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(), StoreError> {
    if changes.closes_all {
        close_all_deadlines(conn, case_id).await?;
    }
    for &kind in changes.closes {
        close_deadline(conn, case_id, kind, None).await?;
    }
    if let Some(kind) = changes.opens {
        open_deadline(conn, case_id, kind, None, own_date, today).await?;
    }
    Ok(())
}

/// A deadline of a case, as an extension finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDeadline {
    pub id: Uuid,
    pub case_id: Uuid,
    pub kind: DeadlineKind,
    pub due_on: NaiveDate,
    pub open: bool,
}

/// Deadline `id` of case `case_id`, read in the caller's transaction (which holds the
/// case's row lock); `None` when the case has no such deadline.
pub async fn deadline_of_case(
    conn: &mut PgConnection,
    case_id: Uuid,
    id: Uuid,
) -> Result<Option<StoredDeadline>, StoreError> {
    let row = sqlx::query!(
        r#"select id, case_id, kind, due_on, closed_at is null as "open!"
           from case_deadlines where id = $1 and case_id = $2"#,
        id,
        case_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(StoredDeadline {
            kind: DeadlineKind::parse(&r.kind)
                .ok_or_else(|| StoreError::corrupt("case_deadlines.kind", &r.kind))?,
            id: r.id,
            case_id: r.case_id,
            due_on: r.due_on,
            open: r.open,
        })
    })
    .transpose()
}

/// Moves an open deadline's due date (SEM's extension): keeps the first due date, who
/// extended it, when and why, and lifts the overdue mark, the new day being ahead. The
/// history entry `extend_deadline` (with the reason as its comment) goes with it.
pub async fn extend_deadline(
    conn: &mut PgConnection,
    deadline: &StoredDeadline,
    extension: &Extension,
    actor_id: Uuid,
    institution_id: Uuid,
    role: &str,
    status: &str,
) -> Result<(), StoreError> {
    sqlx::query!(
        "with moved as (update case_deadlines set due_on = $3, overdue_at = null, \
             original_due_on = coalesce(original_due_on, due_on), extended_at = now(), \
             extended_by = $4, extension_reason = $5 \
         where id = $1 and case_id = $2 and closed_at is null returning case_id) \
         insert into case_events (id, case_id, action, from_status, to_status, actor_id, \
             actor_institution_id, actor_role, comment) \
         select $6, case_id, $7, $8, $8, $4, $9, $10, $5 from moved",
        deadline.id,
        deadline.case_id,
        extension.due_on,
        actor_id,
        extension.reason,
        Uuid::now_v7(),
        retour_domain::deadline::EXTENSION_EVENT,
        status,
        institution_id,
        role,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A deadline the overdue job marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkedDeadline {
    pub id: Uuid,
    pub case_id: Uuid,
    pub kind: String,
    pub due_on: NaiveDate,
}

/// Marks every open deadline due before `today` as overdue, once: a deadline marked by one
/// run (or by another server's at the same moment: the second update waits for the first's
/// row locks, then finds the mark) is not marked again. The marking and its access-log
/// event (actor `system`, naming the cases) commit together; nothing is logged when there
/// was nothing to mark. Each marked deadline writes its event (`deadline.passed`).
pub async fn mark_overdue(
    pool: &PgPool,
    today: NaiveDate,
) -> Result<Vec<MarkedDeadline>, StoreError> {
    let mut tx = pool.begin().await?;
    let marked: Vec<MarkedDeadline> = sqlx::query_as!(
        MarkedDeadline,
        "update case_deadlines set overdue_at = now() \
         where overdue_at is null and closed_at is null and due_on < $1 \
         returning id, case_id, kind, due_on",
        today,
    )
    .fetch_all(&mut *tx)
    .await?;
    for deadline in &marked {
        let kind = DeadlineKind::parse(&deadline.kind)
            .ok_or_else(|| StoreError::corrupt("case_deadlines.kind", &deadline.kind))?;
        let passed = NewEvent::new(EventType::DeadlinePassed, deadline.case_id, None)
            .group(EventType::deadline_group(kind))
            .data(serde_json::json!({ "deadline_id": deadline.id, "kind": kind, "due_on": deadline.due_on }));
        events::record(&mut tx, &passed).await?;
    }
    if !marked.is_empty() {
        // The event names the cases and how many deadlines, not their kinds: which of a
        // case's deadlines passed can be of a field group the log's readers do not hold.
        let mut cases: Vec<Uuid> = marked.iter().map(|d| d.case_id).collect();
        cases.sort_unstable();
        cases.dedup();
        let event = AuditEvent::new(AuditActor::system(), "deadline.overdue", Outcome::Allowed)
            .resources("case", cases)
            .details(serde_json::json!({ "as_of": today, "marked": marked.len() }));
        audit::record(&mut *tx, &event).await?;
    }
    tx.commit().await?;
    Ok(marked)
}

/// An item of a work queue as the store selects it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct QueueRow {
    pub case_id: Uuid,
    /// The case, or the monitoring visit, the item is about: with the due date and `since`,
    /// the item's place in the queue.
    pub item_id: Uuid,
    pub reference: String,
    pub status: String,
    pub kind: String,
    pub due_on: Option<NaiveDate>,
    pub since: DateTime<Utc>,
    pub overdue: bool,
}

/// Where a page of a queue continues: after the item with this due date (`None`: none,
/// which sorts last), `since` and item id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueAfter {
    pub due_on: Option<NaiveDate>,
    pub since: DateTime<Utc>,
    pub item_id: Uuid,
}

/// A page of a work queue and the number of items of each kind in the whole queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueuePage {
    /// One more than the page's limit when another page follows.
    pub items: Vec<QueueRow>,
    pub counts: BTreeMap<String, i64>,
}

/// `query!` of a queue. A queue's items are `case_id, item_id, reference, status, kind,
/// due_on, since, overdue`, in the order of their due date (none last), then `since`, then
/// the item; a page is `$1` items after the cursor `$2`–`$4` (`$4` null: from the start),
/// the owner's parameters from `$5`.
///
/// No statement reads a whole queue. `$dated` is one `union all` branch per kind of item
/// with a due date, each walking its own index in due order after the cursor and stopping
/// at `$1` rows: a page is among the first `$1` of each. `$undated` (the items without a due
/// date, which sort after every dated one) is the same, by `since`; it is read only when the
/// dated items do not fill the page. `$counts` counts each kind by itself
/// (`json_object_agg` of `(kind, n)` pairs, kinds without items left out), from indexes
/// alone where the kind allows.
macro_rules! queue_of {
    ($dated:literal, $undated:literal, $counts:literal, $limit:expr, $after:expr
        $(, $arg:expr)* $(,)?) => {
        sqlx::query!(
            "with dated as (" + $dated + "), \
             undated as (select * from (" + $undated + ") u \
                 where (select count(*) from dated) < $1), \
             page as (select * from (select * from dated union all select * from undated) i \
                 order by coalesce(due_on, 'infinity'::date), since, item_id limit $1) \
             select (select coalesce(json_object_agg(k.kind, k.n) filter (where k.n > 0), \
                     '{}'::json) \
                     from (select * from (values " + $counts + ") v offset 0) k (kind, n)) \
                     as \"counts!: Json<BTreeMap<String, i64>>\", \
                 (select coalesce(json_agg(p order by coalesce(p.due_on, 'infinity'::date), \
                     p.since, p.item_id), '[]'::json) from page p) \
                     as \"items!: Json<Vec<QueueRow>>\"",
            $limit,
            $after.and_then(|a: QueueAfter| a.due_on),
            $after.map(|a: QueueAfter| a.since),
            $after.map(|a: QueueAfter| a.item_id),
            $($arg),*
        )
    };
    ($dated:literal, $counts:literal, $limit:expr, $after:expr $(, $arg:expr)* $(,)?) => {
        sqlx::query!(
            "with page as (select * from (" + $dated + ") i \
                 order by coalesce(due_on, 'infinity'::date), since, item_id limit $1) \
             select (select coalesce(json_object_agg(k.kind, k.n) filter (where k.n > 0), \
                     '{}'::json) \
                     from (select * from (values " + $counts + ") v offset 0) k (kind, n)) \
                     as \"counts!: Json<BTreeMap<String, i64>>\", \
                 (select coalesce(json_agg(p order by coalesce(p.due_on, 'infinity'::date), \
                     p.since, p.item_id), '[]'::json) from page p) \
                     as \"items!: Json<Vec<QueueRow>>\"",
            $limit,
            $after.and_then(|a: QueueAfter| a.due_on),
            $after.map(|a: QueueAfter| a.since),
            $after.map(|a: QueueAfter| a.item_id),
            $($arg),*
        )
    };
}

impl Store {
    /// A page of `owner`'s work queue: `limit` items (and one more when another page
    /// follows) after `after`, with the counts per kind of the whole queue. Each owner's
    /// statement is fixed and holds the policy's scope of the owner's role.
    ///
    /// In a branch of dated items the cursor is `(due_on, since, item) > ($2, $3, $4)`, false
    /// when the cursor has no due date (every dated item comes before it); in a branch of
    /// undated items it is `(since, item) > ($3, $4)` when the cursor has no due date, and
    /// true otherwise.
    pub async fn queue(
        &self,
        owner: QueueOwner,
        after: Option<QueueAfter>,
        limit: u32,
    ) -> Result<QueuePage, StoreError> {
        let fetch = i64::from(limit) + 1;
        let pool = self.pool();
        let (Json(counts), Json(items)) = match owner {
            QueueOwner::Counsellor { service_id, user_id } => {
                let r = queue_of!(
                    "(select c.id as case_id, c.id as item_id, c.reference, c.status, \
                         'answer_information'::text as kind, d.due_on, d.opened_at as since, \
                         d.overdue_at is not null as overdue \
                     from case_deadlines d cross join lateral (select c.id, c.reference, c.status \
                         from cases c where c.id = d.case_id \
                             and c.counselling_service_id = $5 and c.counsellor_id = $6 \
                             and c.status = 'info_requested' and c.transfer_to_service_id is null \
                         offset 0) c \
                     where d.kind = 'information_answer' and d.closed_at is null \
                         and ($4::uuid is null or (d.due_on, d.opened_at, d.case_id) \
                             > ($2::date, $3::timestamptz, $4::uuid)) \
                     order by d.due_on, d.opened_at, d.case_id limit $1)",
                    "(select c.id as case_id, c.id as item_id, c.reference, c.status, \
                         'submit'::text as kind, null::date as due_on, c.created_at as since, \
                         false as overdue \
                     from cases c \
                     where c.counselling_service_id = $5 and c.counsellor_id = $6 \
                         and c.status = 'counselling' and c.transfer_to_service_id is null \
                         and ($4::uuid is null or $2::date is not null \
                             or (c.created_at, c.id) > ($3::timestamptz, $4::uuid)) \
                     order by c.created_at, c.id limit $1) \
                     union all \
                     (select c.id, c.id, c.reference, c.status, 'answer_information', null, \
                         c.updated_at, false \
                     from cases c \
                     where c.counselling_service_id = $5 and c.counsellor_id = $6 \
                         and c.status = 'info_requested' and c.transfer_to_service_id is null \
                         and not exists (select 1 from case_deadlines d where d.case_id = c.id \
                             and d.kind = 'information_answer' and d.closed_at is null) \
                         and ($4::uuid is null or $2::date is not null \
                             or (c.updated_at, c.id) > ($3::timestamptz, $4::uuid)) \
                     order by c.updated_at, c.id limit $1) \
                     union all \
                     (select c.id, t.id, c.reference, c.status, 'decide_transfer', null, \
                         t.proposed_at, false \
                     from case_transfers t join cases c on c.id = t.case_id \
                     where t.to_service_id = $5 and t.status = 'pending' \
                         and c.transfer_to_service_id = $5 \
                         and ($4::uuid is null or $2::date is not null \
                             or (t.proposed_at, t.id) > ($3::timestamptz, $4::uuid)) \
                     order by t.proposed_at, t.id limit $1)",
                    "('submit', (select count(*) from cases c \
                         where c.counselling_service_id = $5 and c.counsellor_id = $6 \
                             and c.status = 'counselling' and c.transfer_to_service_id is null)), \
                     ('answer_information', (select count(*) from cases c \
                         where c.counselling_service_id = $5 and c.counsellor_id = $6 \
                             and c.status = 'info_requested' \
                             and c.transfer_to_service_id is null)), \
                     ('decide_transfer', (select count(*) \
                         from case_transfers t join cases c on c.id = t.case_id \
                         where t.to_service_id = $5 and t.status = 'pending' \
                             and c.transfer_to_service_id = $5))",
                    fetch,
                    after,
                    service_id,
                    user_id,
                )
                .fetch_one(pool)
                .await?;
                (r.counts, r.items)
            }
            QueueOwner::SemOfficer { user_id } => {
                let r = queue_of!(
                    "(select c.id as case_id, c.id as item_id, c.reference, c.status, \
                         'start_review'::text as kind, d.due_on, d.opened_at as since, \
                         d.overdue_at is not null as overdue \
                     from cases c join case_deadlines d on d.case_id = c.id \
                         and d.kind = 'sem_decision' and d.closed_at is null \
                     where c.submitted_at is not null and c.status = 'submitted' \
                         and ($4::uuid is null or (d.due_on, d.opened_at, c.id) \
                             > ($2::date, $3::timestamptz, $4::uuid)) \
                     order by d.due_on, d.opened_at, c.id limit $1) \
                     union all \
                     (select c.id, c.id, c.reference, c.status, 'decide', d.due_on, \
                         d.opened_at, d.overdue_at is not null \
                     from cases c join case_deadlines d on d.case_id = c.id \
                         and d.kind = 'sem_decision' and d.closed_at is null \
                     where c.submitted_at is not null and c.status = 'under_review' \
                         and c.reviewer_id = $5 \
                         and ($4::uuid is null or (d.due_on, d.opened_at, c.id) \
                             > ($2::date, $3::timestamptz, $4::uuid)) \
                     order by d.due_on, d.opened_at, c.id limit $1) \
                     union all \
                     (select c.id, c.id, c.reference, c.status, 'approval_expired', d.due_on, \
                         d.overdue_at, true \
                     from case_deadlines d cross join lateral (select c.id, c.reference, c.status \
                         from cases c where c.id = d.case_id \
                             and c.submitted_at is not null and c.status = 'approved' \
                             and c.reviewer_id = $5 \
                         offset 0) c \
                     where d.kind = 'travel' and d.closed_at is null \
                         and d.overdue_at is not null \
                         and ($4::uuid is null or (d.due_on, d.overdue_at, d.case_id) \
                             > ($2::date, $3::timestamptz, $4::uuid)) \
                     order by d.due_on, d.overdue_at, d.case_id limit $1)",
                    "(select c.id as case_id, c.id as item_id, c.reference, c.status, \
                         'start_review'::text as kind, null::date as due_on, \
                         coalesce(c.submitted_at, c.updated_at) as since, false as overdue \
                     from cases c \
                     where c.submitted_at is not null and c.status = 'submitted' \
                         and not exists (select 1 from case_deadlines d where d.case_id = c.id \
                             and d.kind = 'sem_decision' and d.closed_at is null) \
                         and ($4::uuid is null or $2::date is not null \
                             or (coalesce(c.submitted_at, c.updated_at), c.id) \
                                 > ($3::timestamptz, $4::uuid)) \
                     order by coalesce(c.submitted_at, c.updated_at), c.id limit $1) \
                     union all \
                     (select c.id, c.id, c.reference, c.status, 'decide', null, c.updated_at, \
                         false \
                     from cases c \
                     where c.submitted_at is not null and c.status = 'under_review' \
                         and c.reviewer_id = $5 \
                         and not exists (select 1 from case_deadlines d where d.case_id = c.id \
                             and d.kind = 'sem_decision' and d.closed_at is null) \
                         and ($4::uuid is null or $2::date is not null \
                             or (c.updated_at, c.id) > ($3::timestamptz, $4::uuid)) \
                     order by c.updated_at, c.id limit $1) \
                     union all \
                     (select c.id, p.id, c.reference, c.status, 'confirm_proposal', null, \
                         p.proposed_at, false \
                     from case_proposals p join cases c on c.id = p.case_id \
                     where p.status = 'open' and p.proposed_by <> $5 \
                         and c.submitted_at is not null \
                         and ($4::uuid is null or $2::date is not null \
                             or (p.proposed_at, p.id) > ($3::timestamptz, $4::uuid)) \
                     order by p.proposed_at, p.id limit $1)",
                    "('start_review', (select count(*) from cases c \
                         where c.submitted_at is not null and c.status = 'submitted')), \
                     ('decide', (select count(*) from cases c \
                         where c.submitted_at is not null and c.status = 'under_review' \
                             and c.reviewer_id = $5)), \
                     ('approval_expired', (select count(*) \
                         from case_deadlines d \
                         where d.kind = 'travel' and d.closed_at is null \
                             and d.overdue_at is not null \
                             and exists (select 1 from cases c where c.id = d.case_id \
                                 and c.submitted_at is not null and c.status = 'approved' \
                                 and c.reviewer_id = $5 offset 0))), \
                     ('confirm_proposal', (select count(*) \
                         from case_proposals p join cases c on c.id = p.case_id \
                         where p.status = 'open' and p.proposed_by <> $5 \
                             and c.submitted_at is not null))",
                    fetch,
                    after,
                    user_id,
                )
                .fetch_one(pool)
                .await?;
                (r.counts, r.items)
            }
            QueueOwner::Swissrepat | QueueOwner::IomCoordinator => {
                // swissREPAT confirms the journeys it booked, IOM Bern the SIM ones.
                let sim = owner == QueueOwner::IomCoordinator;
                let r = queue_of!(
                    "(select c.id as case_id, c.id as item_id, c.reference, c.status, \
                         'book_travel'::text as kind, d.due_on, d.opened_at as since, \
                         d.overdue_at is not null as overdue \
                     from case_deadlines d cross join lateral (select c.id, c.reference, c.status \
                         from cases c where c.id = d.case_id \
                             and c.approved_at is not null and c.status = 'approved' \
                         offset 0) c \
                     where d.kind = 'travel' and d.closed_at is null \
                         and ($4::uuid is null or (d.due_on, d.opened_at, d.case_id) \
                             > ($2::date, $3::timestamptz, $4::uuid)) \
                     order by d.due_on, d.opened_at, d.case_id limit $1) \
                     union all \
                     (select c.id, c.id, c.reference, c.status, 'confirm_departure', d.due_on, \
                         d.opened_at, d.overdue_at is not null \
                     from cases c join case_deadlines d on d.case_id = c.id \
                         and d.kind = 'departure' and d.closed_at is null \
                     where c.approved_at is not null and c.status = 'travel_booked' \
                         and c.journey_sim = $5 \
                         and ($4::uuid is null or (d.due_on, d.opened_at, c.id) \
                             > ($2::date, $3::timestamptz, $4::uuid)) \
                     order by d.due_on, d.opened_at, c.id limit $1)",
                    "(select c.id as case_id, c.id as item_id, c.reference, c.status, \
                         'book_travel'::text as kind, null::date as due_on, \
                         coalesce(c.approved_at, c.updated_at) as since, false as overdue \
                     from cases c \
                     where c.approved_at is not null and c.status = 'approved' \
                         and not exists (select 1 from case_deadlines d where d.case_id = c.id \
                             and d.kind = 'travel' and d.closed_at is null) \
                         and ($4::uuid is null or $2::date is not null \
                             or (coalesce(c.approved_at, c.updated_at), c.id) \
                                 > ($3::timestamptz, $4::uuid)) \
                     order by coalesce(c.approved_at, c.updated_at), c.id limit $1) \
                     union all \
                     (select c.id, c.id, c.reference, c.status, 'confirm_departure', null, \
                         c.updated_at, false \
                     from cases c \
                     where c.approved_at is not null and c.status = 'travel_booked' \
                         and c.journey_sim = $5 \
                         and not exists (select 1 from case_deadlines d where d.case_id = c.id \
                             and d.kind = 'departure' and d.closed_at is null) \
                         and ($4::uuid is null or $2::date is not null \
                             or (c.updated_at, c.id) > ($3::timestamptz, $4::uuid)) \
                     order by c.updated_at, c.id limit $1) \
                     union all \
                     (select c.id, c.id, c.reference, c.status, 'start_reintegration', null, \
                         coalesce(c.departed_at, c.updated_at), false \
                     from cases c \
                     where $5 and c.approved_at is not null and c.status = 'departed' \
                         and c.reintegration_project \
                         and ($4::uuid is null or $2::date is not null \
                             or (coalesce(c.departed_at, c.updated_at), c.id) \
                                 > ($3::timestamptz, $4::uuid)) \
                     order by coalesce(c.departed_at, c.updated_at), c.id limit $1)",
                    "('book_travel', (select count(*) from cases c \
                         where c.approved_at is not null and c.status = 'approved')), \
                     ('confirm_departure', (select count(*) from cases c \
                         where c.approved_at is not null and c.status = 'travel_booked' \
                             and c.journey_sim = $5)), \
                     ('start_reintegration', (select count(*) from cases c \
                         where $5 and c.approved_at is not null and c.status = 'departed' \
                             and c.reintegration_project))",
                    fetch,
                    after,
                    sim,
                )
                .fetch_one(pool)
                .await?;
                (r.counts, r.items)
            }
            QueueOwner::Mission { mission_id } => {
                let r = queue_of!(
                    "select c.id as case_id, m.id as item_id, c.reference, c.status, \
                         'monitoring_visit'::text as kind, m.due_on, m.created_at as since, \
                         coalesce(d.overdue_at is not null, false) as overdue \
                     from case_monitoring_visits m \
                     cross join lateral (select c.id, c.reference, c.status from cases c \
                         where c.id = m.case_id and c.reintegration_mission_id = $5 \
                             and c.status = 'reintegration' offset 0) c \
                     left join case_deadlines d on d.case_id = m.case_id \
                         and d.kind = 'monitoring_visit' and d.subject_id = m.id \
                         and d.closed_at is null \
                     where m.done_on is null \
                         and ($4::uuid is null or (m.due_on, m.created_at, m.id) \
                             > ($2::date, $3::timestamptz, $4::uuid)) \
                     order by m.due_on, m.created_at, m.id limit $1",
                    "('monitoring_visit', (select count(*) \
                         from case_monitoring_visits m join cases c on c.id = m.case_id \
                         where c.reintegration_mission_id = $5 and c.status = 'reintegration' \
                             and m.done_on is null))",
                    fetch,
                    after,
                    mission_id,
                )
                .fetch_one(pool)
                .await?;
                (r.counts, r.items)
            }
        };
        Ok(QueuePage { items, counts })
    }
}
