//! The return workflow's records: a transition's record, the case's new status and its
//! history entry, written in the caller's transaction; the history read within a scope; the
//! reintegration's disbursements and monitoring visits (a planned visit later recorded
//! done); country information requests; and reclaims. Decisions, payouts, disbursements and
//! the history are never changed (the database refuses it).

use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::assistance::AssistanceComponent;
use retour_domain::deadline::{DeadlineChanges, DeadlineKind};
use retour_domain::event::EventType;
use retour_domain::information::InformationRequestStatus;
use retour_domain::policy::CaseScope;
use retour_domain::reclaim::{NewReclaim, ReclaimBasis, ReclaimStatus, ReclaimUpdate};
use retour_domain::records::{CaseEvent, Disbursement, MonitoringVisit, Reclaim};
use retour_domain::reintegration::{MonitoringVisitDone, NewDisbursement, NewMonitoringVisit};
use retour_domain::workflow::{Action, MissionFacts, Transition, TransitionRecord};
use retour_domain::{InstitutionKind, Rappen, Role};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{PgConnection, QueryBuilder};
use uuid::Uuid;

use crate::cases::{CaseHead, HEAD_COLUMNS, HeadRow, push_scope};
use crate::deadlines;
use crate::{Store, StoreError};

/// The institution a `start_reintegration` names, as the workflow's guard checks it.
pub async fn mission_facts(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<MissionFacts>, StoreError> {
    let row = sqlx::query!("select id, kind, country, active from institutions where id = $1", id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok(MissionFacts {
            id: r.id,
            kind: InstitutionKind::parse(&r.kind)
                .ok_or_else(|| StoreError::corrupt("institutions.kind", &r.kind))?,
            country: r.country,
            active: r.active,
        })
    })
    .transpose()
}

/// A transition the workflow accepted, and who took it.
#[derive(Debug, Clone, Copy)]
pub struct TransitionWrite<'a> {
    pub case_id: Uuid,
    /// The version the caller read (and checked against `If-Match`).
    pub expected_version: i32,
    pub actor_id: Uuid,
    pub institution_id: Uuid,
    pub role: Role,
    pub transition: &'a Transition,
    /// For an approval: the components approved above the entitlement.
    pub overridden: &'a [AssistanceComponent],
    /// For a no-show or a departure: the current booking.
    pub itinerary_id: Option<Uuid>,
}

/// What a transition stamps on the case besides its status: decided here, by a match the
/// compiler holds to every action, rather than in SQL on the action's name.
#[derive(Debug, Default, PartialEq)]
struct Stamps {
    submitted: bool,
    reviewer_id: Option<Uuid>,
    approved: bool,
    decided: bool,
    departed_at: Option<DateTime<Utc>>,
    mission_id: Option<Uuid>,
    closed: bool,
    /// The case's open journey changes: `Some(Some(sim))` at a booking, `Some(None)` at a
    /// no-show (the queue reads who confirms the departure from the case).
    journey: Option<Option<bool>>,
    /// An approval with a reintegration project above zero.
    reintegration_project: bool,
}

impl Stamps {
    fn of(action: Action, record: &TransitionRecord, actor_id: Uuid) -> Self {
        let none = Stamps::default();
        match (action, record) {
            (Action::Submit, _) => Stamps { submitted: true, ..none },
            (Action::StartReview, _) => Stamps { reviewer_id: Some(actor_id), ..none },
            (Action::Approve, TransitionRecord::Approval(approval)) => Stamps {
                approved: true,
                decided: true,
                reintegration_project: approval.approved_assistance.iter().any(|a| {
                    a.component == AssistanceComponent::ReintegrationProject.as_str()
                        && a.amount_rappen > 0
                }),
                ..none
            },
            (Action::Approve, _) => Stamps { approved: true, decided: true, ..none },
            (Action::BookTravel, TransitionRecord::Booking(itinerary)) => {
                Stamps { journey: Some(Some(itinerary.sim)), ..none }
            }
            (Action::ReportNoShow, _) => Stamps { journey: Some(None), ..none },
            (Action::Reject, _) => Stamps { decided: true, ..none },
            (Action::ConfirmDeparture, TransitionRecord::Departure(d)) => {
                Stamps { departed_at: Some(d.departed_at), ..none }
            }
            (Action::StartReintegration, TransitionRecord::ReintegrationStarted { mission_id }) => {
                Stamps { mission_id: Some(*mission_id), ..none }
            }
            (Action::Close | Action::Withdraw | Action::Cancel, _) => {
                Stamps { closed: true, ..none }
            }
            (
                Action::RequestInfo
                | Action::AnswerInfo
                | Action::BookTravel
                | Action::ConfirmDeparture
                | Action::StartReintegration,
                _,
            ) => none,
        }
    }
}

/// Writes a transition: its record, the case's new status, version and timestamps, the
/// history entry and the event in the outbox. Returns the new version; [`StoreError::StaleVersion`] when the case has
/// another version by now.
pub async fn apply_transition(
    conn: &mut PgConnection,
    w: TransitionWrite<'_>,
) -> Result<i32, StoreError> {
    let t = w.transition;
    let stamps = Stamps::of(t.action, &t.record, w.actor_id);
    let event = EventType::of_transition(t.action);
    // The case, its history entry and the event for partner systems in one statement; none
    // of them when the version moved on.
    let version = sqlx::query_scalar!(
        "with moved as (update cases set status = $3, version = version + 1, updated_at = now(), \
             submitted_at = case when $13 then coalesce(submitted_at, now()) \
                 else submitted_at end, \
             reviewer_id = coalesce($14, reviewer_id), \
             approved_at = case when $15 then coalesce(approved_at, now()) \
                 else approved_at end, \
             decided_at = case when $16 then now() else decided_at end, \
             departed_at = coalesce($6, departed_at), \
             reintegration_mission_id = coalesce($7, reintegration_mission_id), \
             closed_at = case when $17 then now() else closed_at end, \
             journey_sim = case when $18 then $19 else journey_sim end, \
             reintegration_project = reintegration_project or $20 \
         where id = $1 and version = $2 returning version), \
         history as (insert into case_events (id, case_id, action, from_status, to_status, \
             actor_id, actor_institution_id, actor_role, comment) \
             select $8, $1, $4, $9, $3, $5, $10, $11, $12 from moved), \
         announced as (insert into event_outbox (id, type, case_id, case_version, \
             actor_institution_id, field_group, data) \
             select $21, $22, $1, version, $10, $23, \
                 jsonb_build_object('from_status', $9::text, 'to_status', $3::text) from moved) \
         select version from moved",
        w.case_id,
        w.expected_version,
        t.to.as_str(),
        t.action.as_str(),
        w.actor_id,
        stamps.departed_at,
        stamps.mission_id,
        Uuid::now_v7(),
        t.from.as_str(),
        w.institution_id,
        w.role.as_str(),
        t.record.comment(),
        stamps.submitted,
        stamps.reviewer_id,
        stamps.approved,
        stamps.decided,
        stamps.closed,
        stamps.journey.is_some(),
        stamps.journey.flatten(),
        stamps.reintegration_project,
        Uuid::now_v7(),
        event.as_str(),
        event.field_group().as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    let version = version.ok_or(StoreError::StaleVersion)?;
    write_record(conn, &w).await?;
    // The deadlines the transition meets close, the one it starts opens (a booking's is due
    // on its departure day).
    let departure_day = match &t.record {
        TransitionRecord::Booking(itinerary) => Some(itinerary.departure_at.date_naive()),
        _ => None,
    };
    deadlines::apply_changes(
        conn,
        w.case_id,
        DeadlineChanges::of(t.action),
        departure_day,
        Utc::now().date_naive(),
    )
    .await?;
    Ok(version)
}

async fn write_record(conn: &mut PgConnection, w: &TransitionWrite<'_>) -> Result<(), StoreError> {
    let case_id = w.case_id;
    match &w.transition.record {
        TransitionRecord::Submission
        | TransitionRecord::ReviewStarted { .. }
        | TransitionRecord::ReintegrationStarted { .. } => {}
        TransitionRecord::InfoRequest { question } => {
            sqlx::query!(
                "insert into case_review_questions (id, case_id, question, asked_by) \
                 values ($1, $2, $3, $4)",
                Uuid::now_v7(),
                case_id,
                question,
                w.actor_id,
            )
            .execute(&mut *conn)
            .await?;
        }
        TransitionRecord::InfoAnswer { answer } => {
            sqlx::query!(
                "update case_review_questions set answer = $2, answered_by = $3, \
                     answered_at = now() \
                 where case_id = $1 and answered_at is null",
                case_id,
                answer,
                w.actor_id,
            )
            .execute(&mut *conn)
            .await?;
        }
        TransitionRecord::Approval(approval) => {
            let overridden: Vec<&str> = w.overridden.iter().map(|c| c.as_str()).collect();
            sqlx::query!(
                "insert into case_decisions (case_id, decision, reasons, override_justification, \
                     overridden_components, decided_by) \
                 values ($1, 'approved', $2, $3, $4, $5)",
                case_id,
                approval.reasons,
                approval.override_justification,
                &overridden as &[&str],
                w.actor_id,
            )
            .execute(&mut *conn)
            .await?;
            let components: Vec<&str> =
                approval.approved_assistance.iter().map(|a| a.component.as_str()).collect();
            let amounts: Vec<i64> =
                approval.approved_assistance.iter().map(|a| a.amount_rappen).collect();
            sqlx::query!(
                "insert into case_approved_assistance (case_id, component, amount_rappen) \
                 select $1, component, amount \
                 from unnest($2::text[], $3::bigint[]) as x(component, amount)",
                case_id,
                &components as &[&str],
                amounts.as_slice(),
            )
            .execute(&mut *conn)
            .await?;
        }
        TransitionRecord::Rejection(rejection) => {
            sqlx::query!(
                "insert into case_decisions (case_id, decision, reasons, legal_ground, \
                     decided_by) \
                 values ($1, 'rejected', $2, $3, $4)",
                case_id,
                rejection.reasons,
                rejection.legal_ground.as_str(),
                w.actor_id,
            )
            .execute(&mut *conn)
            .await?;
        }
        TransitionRecord::Booking(itinerary) => {
            sqlx::query!(
                "insert into case_itineraries (id, case_id, departure_airport, departure_at, \
                     flights, destination_airport, escort, sim, booked_by) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                Uuid::now_v7(),
                case_id,
                itinerary.departure_airport.as_str(),
                itinerary.departure_at,
                itinerary.flights.as_slice(),
                itinerary.destination_airport,
                itinerary.escort.as_str(),
                itinerary.sim,
                w.actor_id,
            )
            .execute(&mut *conn)
            .await?;
        }
        TransitionRecord::NoShow { comment } => {
            let itinerary_id = w.itinerary_id.ok_or(StoreError::NotFound)?;
            sqlx::query!(
                "update case_itineraries set no_show_at = now(), no_show_comment = $3 \
                 where id = $1 and case_id = $2 and no_show_at is null",
                itinerary_id,
                case_id,
                comment,
            )
            .execute(&mut *conn)
            .await?;
        }
        TransitionRecord::Departure(departure) => {
            let itinerary_id = w.itinerary_id.ok_or(StoreError::NotFound)?;
            sqlx::query!(
                "insert into case_departures (case_id, itinerary_id, departed_at, \
                     startup_cash_rappen, travel_money_rappen, receipt_reference, confirmed_by) \
                 values ($1, $2, $3, $4, $5, $6, $7)",
                case_id,
                itinerary_id,
                departure.departed_at,
                departure.payout.startup_cash_rappen,
                departure.payout.travel_money_rappen,
                departure.payout.receipt_reference,
                w.actor_id,
            )
            .execute(&mut *conn)
            .await?;
        }
        TransitionRecord::Closure(closure) => {
            ending(conn, w, "closed", Some(closure.outcome.as_str()), closure.comment.as_deref())
                .await?;
        }
        TransitionRecord::Withdrawal { reason } => {
            ending(conn, w, "withdrawn", None, Some(reason)).await?;
        }
        TransitionRecord::Cancellation(cancellation) => {
            let reason = Some(cancellation.reason.as_str());
            ending(conn, w, "cancelled", reason, cancellation.comment.as_deref()).await?;
        }
    }
    Ok(())
}

async fn ending(
    conn: &mut PgConnection,
    w: &TransitionWrite<'_>,
    kind: &str,
    reason: Option<&str>,
    comment: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query!(
        "insert into case_endings (case_id, kind, reason, comment, ended_by) \
         values ($1, $2, $3, $4, $5)",
        w.case_id,
        kind,
        reason,
        comment,
        w.actor_id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A case's history as one reader may receive it.
#[derive(Debug)]
pub enum EventsRead {
    Visible { head: Box<CaseHead>, events: Vec<CaseEvent> },
    OutOfScope,
    Missing,
}

#[derive(sqlx::FromRow)]
struct EventsRow {
    #[sqlx(flatten)]
    head: HeadRow,
    in_scope: bool,
    events: Option<Json<Vec<CaseEvent>>>,
}

impl Store {
    /// The history of a case, oldest first, selected only when the case is within `scope`;
    /// without the comments of the entries whose action is in `withheld_comments`.
    pub async fn read_case_events(
        &self,
        id: Uuid,
        scope: CaseScope,
        withheld_comments: &[&str],
    ) -> Result<EventsRead, StoreError> {
        let withheld = withheld_comments.to_vec();
        // Built at run time: the scope condition depends on the reader.
        let mut qb = QueryBuilder::new("select ");
        qb.push(HEAD_COLUMNS).push(", coalesce((");
        push_scope(&mut qb, scope);
        qb.push("), false) as in_scope, case when coalesce((");
        push_scope(&mut qb, scope);
        qb.push(
            "), false) then (select coalesce(json_agg(json_build_object('id', e.id, \
                 'action', e.action, 'from_status', e.from_status, 'to_status', e.to_status, \
                 'actor_id', e.actor_id, 'actor_name', u.display_name, \
                 'institution_id', e.actor_institution_id, 'institution_name', i.name, \
                 'role', e.actor_role, 'comment', case when e.action = any(",
        )
        .push_bind(withheld)
        .push(
            "::text[]) then null else e.comment end, 'occurred_at', e.occurred_at) \
                 order by e.occurred_at, e.id), '[]'::json) \
             from case_events e join users u on u.id = e.actor_id \
                 join institutions i on i.id = e.actor_institution_id \
             where e.case_id = c.id) end as events from cases c where c.id = ",
        )
        .push_bind(id);
        let row: Option<EventsRow> = qb.build_query_as().fetch_optional(self.pool()).await?;
        match row {
            None => Ok(EventsRead::Missing),
            Some(row) if !row.in_scope => Ok(EventsRead::OutOfScope),
            Some(row) => Ok(EventsRead::Visible {
                head: Box::new(row.head.try_into()?),
                events: row.events.map(|Json(e)| e).unwrap_or_default(),
            }),
        }
    }
}

/// The total disbursed so far for a case.
pub async fn disbursed_total(conn: &mut PgConnection, case_id: Uuid) -> Result<Rappen, StoreError> {
    let total = sqlx::query_scalar!(
        r#"select coalesce(sum(amount_rappen), 0)::bigint as "total!"
           from case_disbursements where case_id = $1"#,
        case_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Rappen::new(total))
}

/// Records a disbursement of a case's reintegration.
pub async fn insert_disbursement(
    conn: &mut PgConnection,
    case_id: Uuid,
    recorded_by: Uuid,
    new: &NewDisbursement,
) -> Result<Disbursement, StoreError> {
    // The record as the case's read has it (DISBURSEMENT_JSON).
    let Json(record) = sqlx::query_scalar!(
        r#"with b as (insert into case_disbursements (id, case_id, amount_rappen, purpose,
             paid_on, recorded_by) values ($1, $2, $3, $4, $5, $6) returning *)
         select json_build_object('id', b.id, 'amount_rappen', b.amount_rappen,
             'purpose', b.purpose, 'paid_on', b.paid_on, 'recorded_by', b.recorded_by,
             'created_at', b.created_at) as "record!: Json<Disbursement>"
         from b"#,
        Uuid::now_v7(),
        case_id,
        new.amount.get(),
        new.purpose,
        new.paid_on,
        recorded_by,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(record)
}

/// Records a monitoring visit of a case's reintegration.
pub async fn insert_monitoring_visit(
    conn: &mut PgConnection,
    case_id: Uuid,
    recorded_by: Uuid,
    new: &NewMonitoringVisit,
) -> Result<MonitoringVisit, StoreError> {
    // The record as the case's read has it (VISIT_JSON).
    let Json(record) = sqlx::query_scalar!(
        r#"with m as (insert into case_monitoring_visits (id, case_id, due_on, done_on, outcome,
             sustainability_score, recorded_by) values ($1, $2, $3, $4, $5, $6, $7)
             returning *)
         select json_build_object('id', m.id, 'due_on', m.due_on, 'done_on', m.done_on,
             'outcome', m.outcome, 'sustainability_score', m.sustainability_score,
             'recorded_by', m.recorded_by, 'created_at', m.created_at)
             as "record!: Json<MonitoringVisit>"
         from m"#,
        Uuid::now_v7(),
        case_id,
        new.due_on,
        new.done_on,
        new.outcome,
        new.sustainability_score,
        recorded_by,
    )
    .fetch_one(&mut *conn)
    .await?;
    // A planned visit is due on its day; one recorded as done has nothing left to wait for.
    if record.done_on.is_none() {
        deadlines::open_deadline(
            conn,
            case_id,
            DeadlineKind::MonitoringVisit,
            Some(record.id),
            Some(record.due_on),
            Utc::now().date_naive(),
        )
        .await?;
    }
    Ok(record)
}

/// The outcome of recording a planned visit as done.
#[derive(Debug)]
pub enum VisitChange {
    Changed(MonitoringVisit),
    /// The visit was recorded done before, on this day.
    AlreadyDone(NaiveDate),
    /// The case has no visit with this id.
    Missing,
}

/// Records a planned monitoring visit of the case as done, in the caller's transaction
/// (which holds the case's row lock). A visit done is not changed.
pub async fn complete_monitoring_visit(
    conn: &mut PgConnection,
    case_id: Uuid,
    visit_id: Uuid,
    done: &MonitoringVisitDone,
) -> Result<VisitChange, StoreError> {
    let current = sqlx::query_scalar!(
        "select done_on from case_monitoring_visits where id = $1 and case_id = $2 for update",
        visit_id,
        case_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    match current {
        None => return Ok(VisitChange::Missing),
        Some(Some(day)) => return Ok(VisitChange::AlreadyDone(day)),
        Some(None) => {}
    }
    // The record as the case's read has it (VISIT_JSON).
    let Json(record) = sqlx::query_scalar!(
        r#"with m as (update case_monitoring_visits set done_on = $3, outcome = $4,
             sustainability_score = $5 where id = $1 and case_id = $2 returning *)
         select json_build_object('id', m.id, 'due_on', m.due_on, 'done_on', m.done_on,
             'outcome', m.outcome, 'sustainability_score', m.sustainability_score,
             'recorded_by', m.recorded_by, 'created_at', m.created_at)
             as "record!: Json<MonitoringVisit>"
         from m"#,
        visit_id,
        case_id,
        done.done_on,
        done.outcome,
        done.sustainability_score,
    )
    .fetch_one(&mut *conn)
    .await?;
    // The visit no longer waits: its deadline closes with it.
    deadlines::close_deadline(conn, case_id, DeadlineKind::MonitoringVisit, Some(visit_id)).await?;
    Ok(VisitChange::Changed(record))
}

/// A country information request as stored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoredInformationRequest {
    pub id: Uuid,
    pub case_id: Uuid,
    pub destination_country: String,
    pub question: String,
    pub asked_by: Uuid,
    pub asked_at: DateTime<Utc>,
    #[serde(deserialize_with = "request_status")]
    pub status: InformationRequestStatus,
    pub answer: Option<String>,
    pub answered_by: Option<Uuid>,
    pub answered_at: Option<DateTime<Utc>>,
}

fn request_status<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<InformationRequestStatus, D::Error> {
    let text = String::deserialize(d)?;
    InformationRequestStatus::parse(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown status {text:?}")))
}

/// `query_scalar!` of the request that `$write` (a statement on `information_requests`
/// returning `*`) writes, as REQUEST_JSON has it.
macro_rules! request_written {
    ($write:literal, $($arg:expr),* $(,)?) => {
        sqlx::query_scalar!(
            "with q as (" + $write + ") \
             select json_build_object('id', q.id, 'case_id', q.case_id, \
                 'destination_country', q.destination_country, 'question', q.question, \
                 'asked_by', q.asked_by, 'asked_at', q.asked_at, 'status', q.status, \
                 'answer', q.answer, 'answered_by', q.answered_by, \
                 'answered_at', q.answered_at) \
                 as \"request!: Json<StoredInformationRequest>\" \
             from q",
            $($arg),*
        )
    };
}

/// A request of the table aliased `q`, as JSON, for the list; the statements that write a
/// request return the same object (`request_written!`).
const REQUEST_JSON: &str = "json_build_object('id', q.id, 'case_id', q.case_id, \
    'destination_country', q.destination_country, 'question', q.question, \
    'asked_by', q.asked_by, 'asked_at', q.asked_at, 'status', q.status, 'answer', q.answer, \
    'answered_by', q.answered_by, 'answered_at', q.answered_at)";

/// Records a counsellor's question about a case's destination.
pub async fn insert_information_request(
    conn: &mut PgConnection,
    case_id: Uuid,
    destination_country: &str,
    asked_by: Uuid,
    question: &str,
) -> Result<StoredInformationRequest, StoreError> {
    let Json(request) = request_written!(
        "insert into information_requests (id, case_id, destination_country, question, \
             asked_by) values ($1, $2, $3, $4, $5) returning *",
        Uuid::now_v7(),
        case_id,
        destination_country,
        question,
        asked_by,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(request)
}

/// Which information requests to list.
#[derive(Debug, Clone, Default)]
pub struct InformationRequestFilter {
    pub status: Option<InformationRequestStatus>,
    /// Only the requests about cases of this counselling service.
    pub counselling_service_id: Option<Uuid>,
    /// Continue after this (asked_at, id).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: u32,
}

/// The outcome of answering a request.
#[derive(Debug)]
pub enum Answered {
    Answered(StoredInformationRequest),
    AlreadyAnswered,
    Missing,
}

impl Store {
    /// One page of information requests, oldest first; one more than `filter.limit` when
    /// there is a further page.
    pub async fn list_information_requests(
        &self,
        filter: &InformationRequestFilter,
    ) -> Result<Vec<StoredInformationRequest>, StoreError> {
        // Built at run time: each filter is added only when given.
        let mut qb = QueryBuilder::new("select ");
        qb.push(REQUEST_JSON).push(" from information_requests q");
        if let Some(service) = filter.counselling_service_id {
            qb.push(" join cases c on c.id = q.case_id and c.counselling_service_id = ")
                .push_bind(service);
        }
        qb.push(" where true");
        if let Some(status) = filter.status {
            qb.push(" and q.status = ").push_bind(status.as_str());
        }
        if let Some((at, id)) = filter.after {
            qb.push(" and (q.asked_at, q.id) > (").push_bind(at).push(", ").push_bind(id).push(")");
        }
        qb.push(" order by q.asked_at, q.id limit ").push_bind(i64::from(filter.limit) + 1);
        let rows: Vec<Json<StoredInformationRequest>> =
            qb.build_query_scalar().fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(|Json(r)| r).collect())
    }
}

/// Answers an open information request; a request is answered once.
pub async fn answer_information_request(
    conn: &mut PgConnection,
    id: Uuid,
    answered_by: Uuid,
    answer: &str,
) -> Result<Answered, StoreError> {
    let updated = request_written!(
        "update information_requests set status = 'answered', answer = $2, answered_by = $3, \
             answered_at = now() \
         where id = $1 and status = 'open' returning *",
        id,
        answer,
        answered_by,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(Json(request)) = updated {
        return Ok(Answered::Answered(request));
    }
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from information_requests where id = $1) as "exists!""#,
        id,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(if exists { Answered::AlreadyAnswered } else { Answered::Missing })
}

/// What was paid to a case and reclaimed of it, which bounds a new reclaim; read in the
/// caller's transaction, which holds the case's row lock.
pub async fn reclaim_basis(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<ReclaimBasis, StoreError> {
    let basis = sqlx::query!(
        r#"select (select startup_cash_rappen + travel_money_rappen from case_departures
                 where case_id = $1) as payout,
             (select coalesce(sum(amount_rappen), 0)::bigint from case_disbursements
                 where case_id = $1) as "disbursed!",
             (select coalesce(sum(amount_rappen), 0)::bigint from case_approved_assistance
                 where case_id = $1) as "approved!",
             (select coalesce(sum(amount_rappen), 0)::bigint from case_reclaims
                 where case_id = $1 and status <> 'waived') as "reclaimed!""#,
        case_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(ReclaimBasis {
        payout: basis.payout.map(Rappen::new),
        disbursed: Rappen::new(basis.disbursed),
        approved: Rappen::new(basis.approved),
        reclaimed: Rappen::new(basis.reclaimed),
    })
}

/// `query_scalar!` of the reclaim that `$write` (a statement on `case_reclaims` returning
/// `*`) writes, as the case's read has it (RECLAIM_JSON).
macro_rules! reclaim_written {
    ($write:literal, $($arg:expr),* $(,)?) => {
        sqlx::query_scalar!(
            "with r as (" + $write + ") \
             select json_build_object('id', r.id, 'case_id', r.case_id, 'reason', r.reason, \
                 'amount_rappen', r.amount_rappen, 'status', r.status, 'comment', r.comment, \
                 'recorded_by', r.recorded_by, 'created_at', r.created_at, \
                 'updated_at', r.updated_at) as \"reclaim!: Json<Reclaim>\" \
             from r",
            $($arg),*
        )
    };
}

/// Records a reclaim on a case.
pub async fn insert_reclaim(
    conn: &mut PgConnection,
    case_id: Uuid,
    recorded_by: Uuid,
    new: &NewReclaim,
) -> Result<Reclaim, StoreError> {
    let Json(reclaim) = reclaim_written!(
        "insert into case_reclaims (id, case_id, reason, amount_rappen, comment, recorded_by) \
         values ($1, $2, $3, $4, $5, $6) returning *",
        Uuid::now_v7(),
        case_id,
        new.reason.as_str(),
        new.amount_rappen,
        new.comment,
        recorded_by,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(reclaim)
}

/// The outcome of settling or waiving a reclaim.
#[derive(Debug)]
pub enum ReclaimChange {
    Changed(Reclaim),
    /// The reclaim was settled or waived before.
    NotOpen(ReclaimStatus),
    Missing,
}

/// Where reclaim `reclaim_id` of the case stands; `None` when the case has no such reclaim.
pub async fn reclaim_status(
    conn: &mut PgConnection,
    case_id: Uuid,
    reclaim_id: Uuid,
) -> Result<Option<ReclaimStatus>, StoreError> {
    let status = sqlx::query_scalar!(
        "select status from case_reclaims where id = $1 and case_id = $2",
        reclaim_id,
        case_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    status
        .map(|s| {
            ReclaimStatus::parse(&s).ok_or_else(|| StoreError::corrupt("case_reclaims.status", &s))
        })
        .transpose()
}

/// Settles or waives an open reclaim of the case.
pub async fn update_reclaim(
    conn: &mut PgConnection,
    case_id: Uuid,
    reclaim_id: Uuid,
    update: &ReclaimUpdate,
) -> Result<ReclaimChange, StoreError> {
    let updated = reclaim_written!(
        "update case_reclaims set status = $3, comment = coalesce($4, comment), \
             updated_at = now() \
         where id = $1 and case_id = $2 and status = 'open' returning *",
        reclaim_id,
        case_id,
        update.status.as_str(),
        update.comment,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(Json(reclaim)) = updated {
        return Ok(ReclaimChange::Changed(reclaim));
    }
    match reclaim_status(conn, case_id, reclaim_id).await? {
        None => Ok(ReclaimChange::Missing),
        Some(status) => Ok(ReclaimChange::NotOpen(status)),
    }
}

/// The amount SEM approved for one component of a case, if it approved it.
pub async fn approved_amount(
    conn: &mut PgConnection,
    case_id: Uuid,
    component: AssistanceComponent,
) -> Result<Option<Rappen>, StoreError> {
    let amount = sqlx::query_scalar!(
        "select amount_rappen from case_approved_assistance where case_id = $1 and component = $2",
        case_id,
        component.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(amount.map(Rappen::new))
}

#[cfg(test)]
mod stamp_tests {
    use retour_domain::workflow::{
        Action, Approval, ApprovedAmount, DepartureAirport, Escort, Itinerary, TransitionRecord,
    };
    use uuid::Uuid;

    use super::Stamps;

    #[test]
    fn each_action_stamps_what_its_step_of_the_process_is() {
        let actor = Uuid::now_v7();
        let of = |action| Stamps::of(action, &TransitionRecord::Submission, actor);
        assert_eq!(of(Action::Submit), Stamps { submitted: true, ..Stamps::default() });
        assert_eq!(of(Action::StartReview).reviewer_id, Some(actor));
        let approve = of(Action::Approve);
        assert!(approve.approved && approve.decided && !approve.closed);
        let reject = of(Action::Reject);
        assert!(reject.decided && !reject.approved);
        for action in [Action::Close, Action::Withdraw, Action::Cancel] {
            assert_eq!(of(action), Stamps { closed: true, ..Stamps::default() }, "{action}");
        }
        for action in [Action::RequestInfo, Action::AnswerInfo] {
            assert_eq!(of(action), Stamps::default(), "{action}");
        }
        // The work queue reads who confirms the open journey, and whether a reintegration
        // follows, from the case.
        assert_eq!(of(Action::ReportNoShow), Stamps { journey: Some(None), ..Stamps::default() });
        for sim in [true, false] {
            let booking = TransitionRecord::Booking(Itinerary {
                departure_airport: DepartureAirport::Zrh,
                departure_at: chrono::Utc::now(),
                flights: vec!["TK1912".to_owned()],
                destination_airport: "EBL".to_owned(),
                escort: Escort::None,
                sim,
            });
            let stamps = Stamps::of(Action::BookTravel, &booking, actor);
            assert_eq!(stamps, Stamps { journey: Some(Some(sim)), ..Stamps::default() });
        }
        for (amount, project) in [(300_000, true), (0, false)] {
            let approval = TransitionRecord::Approval(Approval {
                reasons: "Eligible.".to_owned(),
                override_justification: None,
                approved_assistance: vec![
                    ApprovedAmount { component: "startup_cash".to_owned(), amount_rappen: 1 },
                    ApprovedAmount {
                        component: "reintegration_project".to_owned(),
                        amount_rappen: amount,
                    },
                ],
            });
            let stamps = Stamps::of(Action::Approve, &approval, actor);
            assert_eq!(stamps.reintegration_project, project, "{amount}");
        }
        let mission_id = Uuid::now_v7();
        let started = TransitionRecord::ReintegrationStarted { mission_id };
        assert_eq!(
            Stamps::of(Action::StartReintegration, &started, actor).mission_id,
            Some(mission_id)
        );
    }
}
