//! The one path of a request on a case: lock (or read) the case, ask the access policy,
//! answer a refusal and log it, write, record the access event, answer with the case as the
//! caller may now see it. Every handler under `/v1/cases/{id}` goes through [`CaseRequest`].
//!
//! What the policy refuses is answered the same way everywhere: outside the caller's scope
//! 404 (the case's existence is not revealed), possible in another status of the case 409
//! with the operation's own code, otherwise 403. The 404 and 403 are recorded here as denied
//! with the handler's action name; a 409, like every other refusal, is recorded by the
//! refusal layer (`crate::refusals`).

use retour_domain::case::allowed_actions;
use retour_domain::event::EventType;
use retour_domain::policy::{self, CaseFacts, Operation, Refusal};
use retour_domain::{Actor, CaseStatus};
use retour_store::StoreError;
use retour_store::audit::{AuditEvent, Outcome};
use retour_store::cases::{self, CaseHead, CaseRead, StoredCase};
use retour_store::events::{self, NewEvent};
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

use super::dto::CaseResponse;
use crate::auth::Caller;
use crate::error::ProblemCode;
use crate::{ApiError, AppState};

/// A transaction of a change to a case.
pub(super) type CaseTx = Transaction<'static, Postgres>;

/// A request by `caller` on case `id`, named `action` in the access log.
pub(super) struct CaseRequest<'a> {
    state: &'a AppState,
    caller: &'a Caller,
    id: Uuid,
    action: &'static str,
}

/// A refusal and whether this request records it (see the module's documentation).
struct Refused {
    error: ApiError,
    record: bool,
}

/// What a case request can lock: the case's head, or the whole case with the full view.
pub(super) trait Lockable: Sized {
    /// Locks the case row for the rest of the transaction; `None` when there is no such case.
    async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Self>, StoreError>;
    fn facts(&self) -> CaseFacts;
}

impl Lockable for CaseHead {
    async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Self>, StoreError> {
        cases::lock_case_head(conn, id).await
    }

    fn facts(&self) -> CaseFacts {
        CaseHead::facts(self)
    }
}

impl Lockable for StoredCase {
    async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Self>, StoreError> {
        cases::lock_case(conn, id).await
    }

    fn facts(&self) -> CaseFacts {
        self.head.facts()
    }
}

impl<'a> CaseRequest<'a> {
    pub(super) fn new(
        state: &'a AppState,
        caller: &'a Caller,
        id: Uuid,
        action: &'static str,
    ) -> Self {
        CaseRequest { state, caller, id, action }
    }

    pub(super) fn actor(&self) -> &'a Actor {
        &self.caller.actor
    }

    /// The access-log event of this request, allowed.
    pub(super) fn allowed(&self) -> AuditEvent {
        self.caller.event(self.action, Outcome::Allowed).resource("case", self.id)
    }

    /// Writes an event of `event_type` about this case, by the caller's institution, of the
    /// type's field group and with `data` (ids and statuses), in `tx`.
    pub(super) async fn announce(
        &self,
        tx: &mut CaseTx,
        event_type: EventType,
        data: serde_json::Value,
    ) -> Result<(), ApiError> {
        let event = NewEvent::new(event_type, self.id, Some(self.actor().institution_id));
        self.announce_as(tx, event.data(data)).await
    }

    /// [`Self::announce`] with an event built by the caller (another field group).
    pub(super) async fn announce_as(
        &self,
        tx: &mut CaseTx,
        event: NewEvent,
    ) -> Result<(), ApiError> {
        events::record(tx, &event).await?;
        Ok(())
    }

    /// Opens a transaction, locks the case (`T`: its head, or the whole case) and asks the
    /// policy whether the caller may do `operation` on it.
    pub(super) async fn lock<T: Lockable>(
        &self,
        operation: Operation,
    ) -> Result<(CaseTx, T), ApiError> {
        let tx = self.state.store().begin().await?;
        self.lock_in(tx, operation).await
    }

    /// [`Self::lock`] within a transaction that has already written (an upload's content):
    /// on a refusal it is rolled back.
    pub(super) async fn lock_in<T: Lockable>(
        &self,
        mut tx: CaseTx,
        operation: Operation,
    ) -> Result<(CaseTx, T), ApiError> {
        let locked = T::lock(&mut tx, self.id).await?;
        let verdict = self.verdict(operation, locked.as_ref().map(T::facts).as_ref());
        match (verdict, locked) {
            (Ok(()), Some(locked)) => Ok((tx, locked)),
            (verdict, _) => {
                tx.rollback().await?;
                let refused =
                    verdict.err().unwrap_or(Refused { error: ApiError::NotFound, record: true });
                Err(self.refused(refused).await)
            }
        }
    }

    /// Asks the policy whether the caller may do `operation` on the case described by
    /// `facts` (`None`: there is no such case in the caller's scope), for a request that
    /// read the case without a lock.
    pub(super) async fn authorize(
        &self,
        operation: Operation,
        facts: Option<&CaseFacts>,
    ) -> Result<(), ApiError> {
        match self.verdict(operation, facts) {
            Ok(()) => Ok(()),
            Err(refused) => Err(self.refused(refused).await),
        }
    }

    /// Records `error`, a refusal decided after the policy allowed the request (e.g. the
    /// workflow forbids the caller's role an action), as denied, and returns it.
    pub(super) async fn deny(&self, error: ApiError) -> ApiError {
        self.refused(Refused { error, record: true }).await
    }

    /// Rolls back the request's transaction, then records `error` as denied ([`Self::deny`])
    /// and returns it.
    pub(super) async fn deny_in(&self, tx: CaseTx, error: ApiError) -> ApiError {
        if let Err(failed) = tx.rollback().await {
            return failed.into();
        }
        self.deny(error).await
    }

    /// Reads the changed case for the caller, records `event` in the same statement, and
    /// commits: the case as the caller may now see it.
    pub(super) async fn finish(
        &self,
        mut tx: CaseTx,
        event: &AuditEvent,
    ) -> Result<CaseResponse, ApiError> {
        let actor = self.actor();
        let view = policy::case_view(actor);
        let read =
            cases::read_case_recording(&mut tx, self.id, policy::case_scope(actor), &view, event)
                .await?;
        let CaseRead::Visible(case) = read else {
            // The caller changed the case within their scope a moment ago.
            return Err(ApiError::internal(StoreError::NotFound));
        };
        tx.commit().await?;
        let actions = allowed_actions(
            actor,
            case.head.status,
            case.approved_assistance(),
            case.head.holding(),
        );
        Ok(CaseResponse::new(*case, &view, actions))
    }

    fn verdict(&self, operation: Operation, facts: Option<&CaseFacts>) -> Result<(), Refused> {
        let Some(facts) = facts else {
            return Err(Refused { error: ApiError::NotFound, record: true });
        };
        match policy::refusal(self.actor(), operation, facts) {
            None => Ok(()),
            Some(Refusal::NotFound) => Err(Refused { error: ApiError::NotFound, record: true }),
            Some(Refusal::NotInThisStatus) => {
                Err(Refused { error: not_in_this_status(operation, facts.status), record: false })
            }
            Some(Refusal::TransferPending) => {
                Err(Refused { error: transfer_pending(), record: false })
            }
            Some(Refusal::Forbidden) => Err(Refused {
                error: ApiError::Forbidden {
                    code: ProblemCode::Forbidden,
                    detail: format!("your role may not {}", what(operation)),
                },
                record: true,
            }),
        }
    }

    async fn refused(&self, refused: Refused) -> ApiError {
        if !refused.record {
            return refused.error;
        }
        let event = self.caller.event(self.action, Outcome::Denied).resource("case", self.id);
        match self.state.store().log(&event).await {
            Ok(()) => refused.error,
            Err(e) => e.into(),
        }
    }
}

/// The answer to an operation the case's status stands in the way of: 409 with the
/// operation's code.
fn not_in_this_status(operation: Operation, status: CaseStatus) -> ApiError {
    let (code, detail) = match operation {
        Operation::UpdateCase => (
            ProblemCode::CaseNotEditable,
            format!(
                "the case is {status}; it can only be changed in counselling or while SEM asks \
                 for information"
            ),
        ),
        Operation::AskInformation => (
            ProblemCode::CaseNotInCounselling,
            format!("the case is {status}; IOM Bern is asked during counselling"),
        ),
        Operation::RecordReintegration => (
            ProblemCode::CaseNotInReintegration,
            format!("the case is {status}; this is recorded during the reintegration"),
        ),
        Operation::ManageReclaims => (
            ProblemCode::ReclaimNotPossible,
            format!("the case is {status}; a reclaim follows a departure or a cancellation"),
        ),
        Operation::ProposeTransfer => (
            ProblemCode::TransferNotPossible,
            format!("the case is {status}; a case moves to another canton before travel is booked"),
        ),
        Operation::AssignCounsellor | Operation::AssignReviewer => (
            ProblemCode::CaseNotAssignable,
            format!("the case is {status}; it is not reassigned in this status"),
        ),
        Operation::ExtendDeadline => (
            ProblemCode::DeadlineNotExtendable,
            format!(
                "the case is {status}; deadlines are extended while SEM awaits information or \
                 the approved travel is pending"
            ),
        ),
        Operation::FileDocument(category) => (
            ProblemCode::DocumentNotFileable,
            format!(
                "the case is {status}; documents of category {} are not filed in this status",
                category.as_str()
            ),
        ),
        _ => (ProblemCode::InvalidTransition, format!("not possible while the case is {status}")),
    };
    ApiError::Conflict { code, detail }
}

/// The answer to a change by a counselling service that is handing the case to another.
pub(super) fn transfer_pending() -> ApiError {
    ApiError::Conflict {
        code: ProblemCode::TransferPending,
        detail: "a transfer of the case to another counselling service is pending; the case \
                 changes again once that service declines it"
            .to_owned(),
    }
}

/// What `operation` does, for a refusal's sentence ("your role may not …").
fn what(operation: Operation) -> &'static str {
    match operation {
        Operation::ReadEntitlement => "see a case's assistance",
        Operation::UpdateCase => "change this case",
        Operation::AddNote => "write notes",
        Operation::AskInformation => "ask IOM Bern about this case",
        Operation::RecordReintegration => "record the reintegration of this case",
        Operation::ManageReclaims => "record or change reclaims",
        Operation::AssignCounsellor => "reassign the case's counsellor",
        Operation::AssignReviewer => "reassign the case's SEM reviewer",
        Operation::ProposeChange => "propose or confirm a four-eyes change",
        Operation::ReadProposals => "read SEM's four-eyes proposals",
        Operation::ProposeTransfer => "hand this case to another counselling service",
        Operation::DecideTransfer => "accept or decline this transfer",
        Operation::ExtendDeadline => "extend a case's deadlines",
        Operation::FileDocument(_) => "file documents of this category on this case",
        Operation::ReadConsents => "read the consents of a case",
        Operation::RecordConsent => "record consents",
        Operation::HoldCase => "set or lift legal holds",
        _ => "do this on a case",
    }
}
