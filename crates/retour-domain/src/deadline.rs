//! Deadlines of the workflow and the work queue built on them.
//!
//! Each stage that waits for someone has a deadline: SEM's decision after a submission (or
//! an answer), the counselling service's answer to SEM's information request, the travel
//! within the approval's validity, the booked departure and each planned monitoring visit.
//! Which transition opens and closes which deadline is [`DeadlineChanges::of`]; how long a
//! stage may take is a [`DeadlineRule`] the store keeps per kind (`deadline_rules`, whose
//! defaults an operator may change); working days are counted by [`crate::calendar`].
//!
//! A `travel` deadline that passes means the approval has expired: SEM extends it
//! ([`parse_extension`]) or cancels the case with the reason `approval_expired`.
//!
//! The work queue ([`QueueKind`]) lists what waits for the caller; its items carry only
//! what every reader of the case receives (reference, status, kind, dates) and dates of the
//! field groups the caller's role holds.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::calendar;
use crate::person::required;
use crate::policy::{self, CaseScope, CaseView, FieldGroup};
use crate::string_enum;
use crate::validation::{FieldError, Validation, parse_date, text};
use crate::workflow::Action;
use crate::{Actor, Role};

string_enum! {
    /// What a deadline waits for.
    pub enum DeadlineKind {
        /// SEM decides on a submitted case (after a submission or an answer to its request).
        SemDecision = "sem_decision",
        /// The counselling service answers SEM's information request.
        InformationAnswer = "information_answer",
        /// The person travels within the validity of the approval.
        Travel = "travel",
        /// The booked departure takes place.
        Departure = "departure",
        /// A planned monitoring visit is done.
        MonitoringVisit = "monitoring_visit",
    }
}

impl DeadlineKind {
    /// The field group a deadline of this kind belongs to: the review's deadlines are
    /// status-level dates every reader of the case has; the travel's go with the travel, a
    /// visit's with the reintegration.
    pub fn field_group(self) -> FieldGroup {
        match self {
            DeadlineKind::SemDecision | DeadlineKind::InformationAnswer => FieldGroup::Identity,
            DeadlineKind::Travel | DeadlineKind::Departure => FieldGroup::Travel,
            DeadlineKind::MonitoringVisit => FieldGroup::Reintegration,
        }
    }

    /// The kinds a reader with `view` receives.
    pub fn visible_with(view: &CaseView) -> Vec<DeadlineKind> {
        DeadlineKind::ALL.into_iter().filter(|k| view.allows(k.field_group())).collect()
    }

    /// Whether SEM may extend a deadline of this kind: the approval's validity and the time
    /// given to answer its own question. The others follow a date someone else set.
    pub fn extendable(self) -> bool {
        matches!(self, DeadlineKind::Travel | DeadlineKind::InformationAnswer)
    }
}

string_enum! {
    /// How a deadline's due date is counted from the day it opens.
    pub enum Counting {
        /// Monday to Friday without the federal public holidays ([`crate::calendar`]).
        WorkingDays = "working_days",
        CalendarDays = "calendar_days",
        /// Due on a date the change itself gives (the booked departure, a visit's day).
        OwnDate = "own_date",
    }
}

/// How long a stage may take, as configured for its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineRule {
    pub kind: DeadlineKind,
    pub counting: Counting,
    /// `None` for [`Counting::OwnDate`].
    pub length_days: Option<u32>,
}

impl DeadlineRule {
    /// The rules an installation starts with (the rows the migration writes into
    /// `deadline_rules`; an operator may change those): SEM decides within 20 working days,
    /// the counselling service answers within 10, the person travels within 90 days of the
    /// approval, a departure is due on its booked day, a visit on its planned day.
    pub const DEFAULTS: [DeadlineRule; 5] = [
        DeadlineRule {
            kind: DeadlineKind::SemDecision,
            counting: Counting::WorkingDays,
            length_days: Some(20),
        },
        DeadlineRule {
            kind: DeadlineKind::InformationAnswer,
            counting: Counting::WorkingDays,
            length_days: Some(10),
        },
        DeadlineRule {
            kind: DeadlineKind::Travel,
            counting: Counting::CalendarDays,
            length_days: Some(90),
        },
        DeadlineRule {
            kind: DeadlineKind::Departure,
            counting: Counting::OwnDate,
            length_days: None,
        },
        DeadlineRule {
            kind: DeadlineKind::MonitoringVisit,
            counting: Counting::OwnDate,
            length_days: None,
        },
    ];

    /// The default rule of `kind`.
    pub fn default_of(kind: DeadlineKind) -> DeadlineRule {
        DeadlineRule::DEFAULTS.into_iter().find(|rule| rule.kind == kind).unwrap_or(DeadlineRule {
            kind,
            counting: Counting::OwnDate,
            length_days: None,
        })
    }

    /// The due date of a deadline opened on `opened_on`; `own_date` is the date the change
    /// gives, the one used by a rule that counts no days.
    pub fn due_on(&self, opened_on: NaiveDate, own_date: Option<NaiveDate>) -> Option<NaiveDate> {
        match (self.counting, self.length_days) {
            (Counting::WorkingDays, Some(n)) => calendar::add_working_days(opened_on, n),
            (Counting::CalendarDays, Some(n)) => opened_on.checked_add_days(Days::new(n.into())),
            (Counting::OwnDate, _) => own_date,
            (Counting::WorkingDays | Counting::CalendarDays, None) => None,
        }
    }
}

/// What a transition does to the case's deadlines, applied in its transaction: the kinds it
/// closes (all open ones when the case ends), then the kind it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineChanges {
    pub closes: &'static [DeadlineKind],
    /// The case ends: every open deadline closes.
    pub closes_all: bool,
    pub opens: Option<DeadlineKind>,
}

impl DeadlineChanges {
    pub fn of(action: Action) -> Self {
        use DeadlineKind as K;
        let change = |closes, opens| DeadlineChanges { closes, closes_all: false, opens };
        match action {
            Action::Submit => change(&[], Some(K::SemDecision)),
            Action::StartReview | Action::StartReintegration => change(&[], None),
            Action::RequestInfo => change(&[K::SemDecision], Some(K::InformationAnswer)),
            Action::AnswerInfo => change(&[K::InformationAnswer], Some(K::SemDecision)),
            Action::Approve => change(&[K::SemDecision], Some(K::Travel)),
            Action::BookTravel => change(&[], Some(K::Departure)),
            Action::ReportNoShow => change(&[K::Departure], None),
            Action::ConfirmDeparture => change(&[K::Travel, K::Departure], None),
            // The case ends (rejected, closed, withdrawn, cancelled).
            Action::Reject | Action::Close | Action::Withdraw | Action::Cancel => {
                DeadlineChanges { closes: &[], closes_all: true, opens: None }
            }
        }
    }
}

/// An open deadline of a case, as the case's answer lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpenDeadline {
    pub id: Uuid,
    pub kind: DeadlineKind,
    /// The last day to act (after an extension, the new one).
    pub due_on: NaiveDate,
    /// The day passed and the overdue job marked it (it runs every few minutes).
    pub overdue: bool,
    pub opened_at: DateTime<Utc>,
}

/// The history entry of an extension (`case_events.action`); its comment (the reason) is
/// SEM's, of the review's field group.
pub const EXTENSION_EVENT: &str = "extend_deadline";
/// The field group of an extension's reason in the history.
pub const EXTENSION_COMMENT_GROUP: FieldGroup = FieldGroup::Review;
/// The history entries (their `action`) whose comments a reader with `view` may not
/// receive: the workflow's ([`Action::comments_withheld_from`]) and SEM's extensions.
pub fn history_comments_withheld_from(view: &CaseView) -> Vec<&'static str> {
    let mut withheld: Vec<&'static str> =
        Action::comments_withheld_from(view).into_iter().map(Action::as_str).collect();
    if !view.allows(EXTENSION_COMMENT_GROUP) {
        withheld.push(EXTENSION_EVENT);
    }
    withheld
}

/// The longest reason of an extension.
pub const EXTENSION_REASON_MAX: usize = 2000;
/// How far ahead an extension may go, in days from today.
pub const EXTENSION_MAX_DAYS: u64 = 366;

/// An extension as SEM sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionInput {
    /// The new last day: after the current one, not before today and at most a year ahead.
    #[schema(value_type = NaiveDate, required = true)]
    pub due_on: Option<String>,
    /// Why (1 to 2000 characters); kept with the deadline and in the case's history for the
    /// counselling service and SEM.
    #[schema(value_type = String, required = true, max_length = 2000)]
    pub reason: Option<String>,
}

/// A valid extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub due_on: NaiveDate,
    pub reason: String,
}

/// Parses an extension of a deadline due on `current`, naming every invalid field.
pub fn parse_extension(
    input: &ExtensionInput,
    current: NaiveDate,
    today: NaiveDate,
) -> Result<Extension, Vec<FieldError>> {
    let mut v = Validation::new();
    let latest = today.checked_add_days(Days::new(EXTENSION_MAX_DAYS - 1)).unwrap_or(today);
    let due_on = required(&mut v, "due_on", &input.due_on)
        .and_then(|s| v.check(parse_date("due_on", s)))
        .and_then(|d| {
            let refusal = if d <= current {
                Some(format!("due_on must be after the current due date {current}"))
            } else if d < today {
                Some(format!("due_on must not be before today ({today})"))
            } else if d > latest {
                Some(format!("due_on must be at most a year ahead (by {latest})"))
            } else {
                None
            };
            match refusal {
                Some(message) => {
                    v.push("due_on", "out_of_range", message);
                    None
                }
                None => Some(d),
            }
        });
    let reason = required(&mut v, "reason", &input.reason)
        .and_then(|s| v.check(text("reason", s, EXTENSION_REASON_MAX)));
    match (due_on, reason) {
        (Some(due_on), Some(reason)) => v.finish(Extension { due_on, reason }),
        _ => Err(v.into_errors()),
    }
}

string_enum! {
    /// What a case in the work queue waits for.
    pub enum QueueKind {
        /// A draft of the caller's, to complete and submit (counsellor).
        Submit = "submit",
        /// SEM asked the caller's case for information (counsellor).
        AnswerInformation = "answer_information",
        /// A submitted case no SEM officer has taken yet.
        StartReview = "start_review",
        /// A case the caller reviews, to decide.
        Decide = "decide",
        /// The travel deadline of a case the caller approved passed: extend or cancel.
        ApprovalExpired = "approval_expired",
        /// An approved case to book (swissREPAT, IOM Bern).
        BookTravel = "book_travel",
        /// A booked departure to confirm (swissREPAT, or IOM Bern for SIM journeys).
        ConfirmDeparture = "confirm_departure",
        /// A departed case with an approved reintegration project (IOM Bern).
        StartReintegration = "start_reintegration",
        /// A planned monitoring visit (IOM mission).
        MonitoringVisit = "monitoring_visit",
        /// A case another counselling service offers to the caller's (counsellor).
        DecideTransfer = "decide_transfer",
        /// Another SEM officer's four-eyes proposal, to confirm or send back.
        ConfirmProposal = "confirm_proposal",
    }
}

impl QueueKind {
    /// The item's reason, in words: what is waited for and since when or by when. Uses only
    /// the item's own dates, which are those of a field group the caller of this kind of
    /// item holds.
    pub fn reason(
        self,
        due_on: Option<NaiveDate>,
        since: DateTime<Utc>,
        overdue: bool,
        today: NaiveDate,
    ) -> String {
        let ago = ago(since.date_naive(), today);
        let due = |what: &str| match due_on {
            Some(day) if overdue => format!("{what} was due {}", day_name(day)),
            Some(day) => format!("{what} due {}", day_name(day)),
            None => String::new(),
        };
        let or = |text: String, fallback: String| if text.is_empty() { fallback } else { text };
        match self {
            QueueKind::Submit => format!("draft opened {ago}"),
            QueueKind::AnswerInformation => match due_on {
                Some(_) => format!("information requested {ago}, {}", due("answer")),
                None => format!("information requested {ago}"),
            },
            QueueKind::StartReview => or(due("decision"), format!("submitted {ago}")),
            QueueKind::Decide => or(due("decision"), format!("under review since {ago}")),
            QueueKind::ApprovalExpired => match due_on {
                Some(day) => format!("approval expired after {}", day_name(day)),
                None => "approval expired".to_owned(),
            },
            QueueKind::BookTravel => or(due("travel"), format!("approved {ago}")),
            QueueKind::ConfirmDeparture => match due_on {
                Some(day) => format!("departure booked for {}", day_name(day)),
                None => "departure booked".to_owned(),
            },
            QueueKind::StartReintegration => format!("departed {ago}"),
            QueueKind::MonitoringVisit => or(due("visit"), format!("visit planned {ago}")),
            QueueKind::DecideTransfer => format!("transfer offered {ago}"),
            QueueKind::ConfirmProposal => format!("proposed {ago}, waiting for a second officer"),
        }
    }
}

/// Whose work queue the caller reads: the role's cases within the policy's scope of it
/// ([`crate::policy::case_scope`]). Roles without workflow actions (auditors, admins,
/// integrations) have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueOwner {
    /// A counsellor: their own drafts and the cases SEM asked them about, of their service.
    Counsellor { service_id: Uuid, user_id: Uuid },
    /// A SEM officer: submitted cases, and the cases they review.
    SemOfficer { user_id: Uuid },
    /// swissREPAT: approved cases to book, and booked journeys that are not SIM.
    Swissrepat,
    /// IOM Bern: approved cases to book, booked SIM journeys, reintegrations to start.
    IomCoordinator,
    /// An IOM mission: the planned monitoring visits of its reintegrations.
    Mission { mission_id: Uuid },
}

impl QueueOwner {
    /// The queue of `actor`, if their role has one; it never reaches beyond their scope.
    pub fn of(actor: &Actor) -> Option<QueueOwner> {
        let role = actor.role().filter(|role| role.fits(actor.institution_kind))?;
        match (role, policy::case_scope(actor)) {
            (Role::Counsellor, CaseScope::OwnService(service_id)) => {
                Some(QueueOwner::Counsellor { service_id, user_id: actor.id })
            }
            (Role::SemOfficer, CaseScope::Submitted) => {
                Some(QueueOwner::SemOfficer { user_id: actor.id })
            }
            (Role::SwissrepatOfficer, CaseScope::Approved) => Some(QueueOwner::Swissrepat),
            (Role::IomCoordinator, CaseScope::Approved) => Some(QueueOwner::IomCoordinator),
            (Role::IomMissionOfficer, CaseScope::AssignedMission(mission_id)) => {
                Some(QueueOwner::Mission { mission_id })
            }
            _ => None,
        }
    }
}

/// `today`, `yesterday`, `12 days ago`.
fn ago(day: NaiveDate, today: NaiveDate) -> String {
    match (today - day).num_days() {
        i64::MIN..=0 => "today".to_owned(),
        1 => "yesterday".to_owned(),
        n => format!("{n} days ago"),
    }
}

/// `3 Dec 2026`.
fn day_name(day: NaiveDate) -> String {
    day.format("%-d %b %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
    }

    #[test]
    fn rules_count_working_days_calendar_days_or_take_the_given_date() {
        let opened = date(2026, 12, 7); // a Monday
        let sem = DeadlineRule {
            kind: DeadlineKind::SemDecision,
            counting: Counting::WorkingDays,
            length_days: Some(20),
        };
        // 20 working days over Christmas: 25 December and 1 January (Fridays) are skipped.
        assert_eq!(sem.due_on(opened, None), Some(date(2027, 1, 6)));
        let travel = DeadlineRule {
            kind: DeadlineKind::Travel,
            counting: Counting::CalendarDays,
            length_days: Some(90),
        };
        assert_eq!(travel.due_on(opened, None), Some(date(2027, 3, 7)));
        let departure = DeadlineRule {
            kind: DeadlineKind::Departure,
            counting: Counting::OwnDate,
            length_days: None,
        };
        assert_eq!(departure.due_on(opened, Some(date(2027, 1, 12))), Some(date(2027, 1, 12)));
        assert_eq!(departure.due_on(opened, None), None);
    }

    #[test]
    fn every_action_that_leaves_a_stage_closes_its_deadline() {
        use DeadlineKind as K;
        assert_eq!(DeadlineChanges::of(Action::Submit).opens, Some(K::SemDecision));
        let request = DeadlineChanges::of(Action::RequestInfo);
        assert_eq!(
            (request.closes, request.opens),
            (&[K::SemDecision][..], Some(K::InformationAnswer))
        );
        let answer = DeadlineChanges::of(Action::AnswerInfo);
        assert_eq!(
            (answer.closes, answer.opens),
            (&[K::InformationAnswer][..], Some(K::SemDecision))
        );
        assert_eq!(DeadlineChanges::of(Action::Approve).opens, Some(K::Travel));
        assert_eq!(DeadlineChanges::of(Action::BookTravel).opens, Some(K::Departure));
        assert_eq!(DeadlineChanges::of(Action::ReportNoShow).closes, [K::Departure]);
        assert_eq!(DeadlineChanges::of(Action::ConfirmDeparture).closes, [K::Travel, K::Departure]);
        for action in [Action::Reject, Action::Close, Action::Withdraw, Action::Cancel] {
            assert!(DeadlineChanges::of(action).closes_all, "{action}");
        }
    }

    #[test]
    fn a_reader_receives_the_deadlines_of_its_groups() {
        let mission = CaseView { reintegration: true, ..CaseView::IDENTITY };
        assert_eq!(
            DeadlineKind::visible_with(&mission),
            [
                DeadlineKind::SemDecision,
                DeadlineKind::InformationAnswer,
                DeadlineKind::MonitoringVisit
            ]
        );
        assert_eq!(DeadlineKind::visible_with(&CaseView::FULL), DeadlineKind::ALL);
    }

    #[test]
    fn an_extension_moves_the_date_forward_within_a_year() {
        let today = date(2026, 12, 7);
        let current = date(2026, 12, 1);
        let input = |due: &str| ExtensionInput {
            due_on: Some(due.to_owned()),
            reason: Some("The embassy issues the laissez-passer in January.".to_owned()),
        };
        let ok = parse_extension(&input("2027-01-15"), current, today).expect("valid");
        assert_eq!(ok.due_on, date(2027, 1, 15));
        assert!(parse_extension(&input("2027-12-07"), current, today).is_ok());
        for refused in ["2026-12-01", "2026-11-30", "2026-12-06", "2027-12-08", "15.01.2027"] {
            let errors = parse_extension(&input(refused), current, today).expect_err(refused);
            assert_eq!(errors[0].field, "due_on", "{refused}");
        }
        let errors =
            parse_extension(&ExtensionInput::default(), current, today).expect_err("empty");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["due_on", "reason"]);
    }

    #[test]
    fn reasons_say_what_is_waited_for_and_when() {
        let today = date(2026, 12, 7);
        let since = date(2026, 11, 25).and_hms_opt(9, 0, 0).expect("time").and_utc();
        let due = Some(date(2026, 12, 14));
        assert_eq!(
            QueueKind::AnswerInformation.reason(due, since, false, today),
            "information requested 12 days ago, answer due 14 Dec 2026"
        );
        assert_eq!(QueueKind::Decide.reason(due, since, false, today), "decision due 14 Dec 2026");
        assert_eq!(
            QueueKind::Decide.reason(due, since, true, today),
            "decision was due 14 Dec 2026"
        );
        assert_eq!(
            QueueKind::MonitoringVisit.reason(Some(date(2026, 12, 3)), since, true, today),
            "visit was due 3 Dec 2026"
        );
        assert_eq!(QueueKind::Submit.reason(None, since, false, today), "draft opened 12 days ago");
        let yesterday = date(2026, 12, 6).and_hms_opt(9, 0, 0).expect("time").and_utc();
        assert_eq!(
            QueueKind::StartReintegration.reason(None, yesterday, false, today),
            "departed yesterday"
        );
    }
}
