//! The workflow against domain.md, written out independently of [`super::TABLE`].

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::{ActorKind, InstitutionKind, Scope};

const ACTOR_ID: Uuid = Uuid::from_u128(7);
const MISSION_IQ: Uuid = Uuid::from_u128(42);

fn user(role: Role) -> Actor {
    Actor {
        id: ACTOR_ID,
        kind: ActorKind::User { role },
        institution_id: Uuid::from_u128(1),
        institution_kind: role.institution_kind(),
        canton: None,
        mission_country: None,
    }
}

fn service_account() -> Actor {
    Actor {
        kind: ActorKind::ServiceAccount { scopes: vec![Scope::CasesRead] },
        ..user(Role::SemOfficer)
    }
}

/// Every kind of caller: each role, and an integration that reads cases.
fn callers() -> Vec<(String, Actor)> {
    let mut callers: Vec<(String, Actor)> =
        Role::ALL.into_iter().map(|role| (role.as_str().to_owned(), user(role))).collect();
    callers.push(("service_account".to_owned(), service_account()));
    callers
}

fn now() -> DateTime<Utc> {
    "2026-12-15T12:00:00Z".parse().expect("timestamp")
}

fn approved(component: &str, amount_rappen: i64) -> ApprovedAmount {
    ApprovedAmount { component: component.to_owned(), amount_rappen }
}

/// A case in `status` with everything filled in, destined for Iraq, whose approval grants
/// start-up cash, travel money and, when `project`, a reintegration project; the institution
/// proposed as mission is IOM Iraq.
fn complete_case(status: CaseStatus, project: bool) -> TransitionContext {
    let mut approved_assistance =
        vec![approved("startup_cash", 100_000), approved("travel_money", 10_000)];
    if project {
        approved_assistance.push(approved("reintegration_project", 300_000));
    }
    TransitionContext {
        status,
        now: now(),
        persons: vec![
            PersonFacts { principal: true, ..PersonFacts::COMPLETE },
            PersonFacts::COMPLETE,
        ],
        eligibility: EligibilityAnswers {
            criminal_offences: Some(false),
            abuse: Some(false),
            sufficient_assets: Some(false),
            prior_assistance: Some(false),
        },
        voluntariness_signed_on: NaiveDate::from_ymd_opt(2026, 11, 20),
        requested_components: 2,
        approved_assistance,
        destination_country: "IQ".to_owned(),
        mission: Some(MissionFacts {
            id: MISSION_IQ,
            kind: InstitutionKind::IomMission,
            country: Some("IQ".to_owned()),
            active: true,
        }),
        // The caller of these tests is the case's reviewer (see `held_cases` for the others).
        holding: Holding { reviewer_id: Some(ACTOR_ID), transfer_pending: false },
        // The project fully disbursed and no visit open: a reintegration closes without a
        // comment.
        disbursed_rappen: if project { 300_000 } else { 0 },
        open_visits: 0,
        return_request_missing: false,
        mission_consent_missing: Vec::new(),
    }
}

fn request(value: serde_json::Value) -> TransitionRequest {
    serde_json::from_value(value).expect("a transition request")
}

/// A complete, valid request for `action` as architecture.md shows it, booked as SIM travel
/// when the booker is IOM.
fn valid_request(action: Action, role: Option<Role>) -> TransitionRequest {
    request(match action {
        Action::Submit => json!({ "action": "submit" }),
        Action::StartReview => json!({ "action": "start_review" }),
        Action::RequestInfo => json!({ "action": "request_info", "question": "Which school?" }),
        Action::AnswerInfo => json!({ "action": "answer_info", "answer": "The one in Erbil." }),
        Action::Approve => json!({
            "action": "approve", "reasons": "Eligible.", "override_justification": null,
            "approved_assistance": [{ "component": "startup_cash", "amount_rappen": 100000 }]
        }),
        Action::Reject => json!({
            "action": "reject", "legal_ground": "sufficient_assets", "reasons": "Assets."
        }),
        Action::BookTravel => json!({
            "action": "book_travel",
            "itinerary": { "departure_airport": "ZRH", "departure_at": "2026-12-15T09:40:00Z",
                "flights": ["TK1912"], "destination_airport": "EBL", "escort": "none",
                "sim": role == Some(Role::IomCoordinator) }
        }),
        Action::ReportNoShow => json!({ "action": "report_no_show", "comment": "Not there." }),
        Action::ConfirmDeparture => json!({
            "action": "confirm_departure", "departed_at": "2026-12-15T09:52:00Z",
            "payout": { "startup_cash_rappen": 100000, "travel_money_rappen": 10000,
                "receipt_reference": "ZRH-2026-1234" }
        }),
        Action::StartReintegration => {
            json!({ "action": "start_reintegration", "mission_id": MISSION_IQ.to_string() })
        }
        Action::Close => json!({ "action": "close", "outcome": "completed" }),
        Action::Withdraw => json!({ "action": "withdraw", "reason": "Wants to stay." }),
        Action::Cancel => json!({ "action": "cancel", "reason": "no_show" }),
    })
}

/// `{"action": …}` with none of the action's fields.
fn bare_request(action: Action) -> TransitionRequest {
    request(json!({ "action": action.as_str() }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allow,
    InvalidTransition,
    Forbidden,
    Invalid,
}

fn outcome(result: &Result<Transition, TransitionError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Allow,
        Err(TransitionError::InvalidTransition { .. }) => Outcome::InvalidTransition,
        Err(TransitionError::Forbidden { .. }) => Outcome::Forbidden,
        Err(TransitionError::Invalid(_)) => Outcome::Invalid,
        // The table's tests hold a case the caller reviews and no transfer (see
        // `held_cases` for these).
        Err(TransitionError::NotAssigned { .. } | TransitionError::TransferPending { .. }) => {
            panic!("the table's cases are held by their caller: {result:?}")
        }
    }
}

/// Who may take which action in which status, from domain.md ("The workflow"):
/// C counsellor, S sem_officer, R swissrepat_officer, I iom_coordinator; `.` the status has
/// no such transition. `departed+project`: SEM approved a reintegration project; `departed`:
/// it did not. No other role (mission officer, auditor, admin) and no service account takes
/// any action.
const MATRIX: &str = "
                  submit review ask  answer approve reject book  noshow depart reint close withdraw cancel
counselling       C      .      .    .      .       .      .     .      .      .     .     C        .
submitted         .      S      .    .      .       .      .     .      .      .     .     C        .
under_review      .      .      S    .      S       S      .     .      .      .     .     C        .
info_requested    .      .      .    C      .       .      .     .      .      .     .     C        .
approved          .      .      .    .      .       .      RI    .      .      .     .     C        S
rejected          .      .      .    .      .       .      .     .      .      .     .     .        .
travel_booked     .      .      .    .      .       .      .     RI     RI     .     .     C        S
departed+project  .      .      .    .      .       .      .     .      .      I     .     .        .
departed          .      .      .    .      .       .      .     .      .      .     I     .        .
reintegration     .      .      .    .      .       .      .     .      .      .     I     .        .
closed            .      .      .    .      .       .      .     .      .      .     .     .        .
withdrawn         .      .      .    .      .       .      .     .      .      .     .     .        .
cancelled         .      .      .    .      .       .      .     .      .      .     .     .        .
";

/// The columns of [`MATRIX`].
const COLUMNS: [Action; 13] = [
    Action::Submit,
    Action::StartReview,
    Action::RequestInfo,
    Action::AnswerInfo,
    Action::Approve,
    Action::Reject,
    Action::BookTravel,
    Action::ReportNoShow,
    Action::ConfirmDeparture,
    Action::StartReintegration,
    Action::Close,
    Action::Withdraw,
    Action::Cancel,
];

struct MatrixRow {
    label: String,
    ctx: TransitionContext,
    /// Per column: the letters of the roles allowed, or `None` for `.`.
    cells: Vec<Option<String>>,
}

fn matrix() -> Vec<MatrixRow> {
    MATRIX
        .lines()
        .filter(|line| !line.trim().is_empty())
        .skip(1)
        .map(|line| {
            let mut tokens = line.split_whitespace();
            let label = tokens.next().expect("a status").to_owned();
            let (status, project) = match label.strip_suffix("+project") {
                Some(status) => (status, true),
                None => (label.as_str(), false),
            };
            let status = CaseStatus::parse(status).expect("a status name");
            let cells: Vec<Option<String>> =
                tokens.map(|cell| (cell != ".").then(|| cell.to_owned())).collect();
            assert_eq!(cells.len(), COLUMNS.len(), "{label}");
            MatrixRow { ctx: complete_case(status, project), label, cells }
        })
        .collect()
}

fn letter(role: Role) -> Option<char> {
    match role {
        Role::Counsellor => Some('C'),
        Role::SemOfficer => Some('S'),
        Role::SwissrepatOfficer => Some('R'),
        Role::IomCoordinator => Some('I'),
        Role::IomMissionOfficer
        | Role::Auditor
        | Role::Admin
        | Role::InstitutionAdmin
        | Role::DataProtectionOfficer => None,
    }
}

fn expected(cell: &Option<String>, actor: &Actor) -> Outcome {
    match cell {
        None => Outcome::InvalidTransition,
        Some(letters) => match actor.role().and_then(letter) {
            Some(letter) if letters.contains(letter) => Outcome::Allow,
            _ => Outcome::Forbidden,
        },
    }
}

#[test]
fn the_matrix_covers_every_status_and_the_columns_every_action() {
    let rows = matrix();
    for status in CaseStatus::ALL {
        assert!(rows.iter().any(|row| row.ctx.status == status), "{status} is not in the matrix");
    }
    assert_eq!(COLUMNS, Action::ALL);
}

#[test]
fn every_status_action_and_role_follows_the_matrix() {
    let mut wrong = Vec::new();
    for row in matrix() {
        for (action, cell) in COLUMNS.into_iter().zip(&row.cells) {
            for (name, actor) in callers() {
                let result = evaluate(&actor, &row.ctx, &valid_request(action, actor.role()));
                let (got, want) = (outcome(&result), expected(cell, &actor));
                if got != want {
                    wrong.push(format!(
                        "{} {action} by {name}: got {got:?} ({result:?}), want {want:?}",
                        row.label
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} mismatches:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn an_action_is_refused_for_the_status_before_the_role_and_for_the_role_before_the_fields() {
    // A counsellor approving an empty approval of a case under review: the role decides.
    let ctx = complete_case(CaseStatus::UnderReview, false);
    let got = evaluate(&user(Role::Counsellor), &ctx, &bare_request(Action::Approve));
    assert_eq!(
        got,
        Err(TransitionError::Forbidden {
            status: CaseStatus::UnderReview,
            action: Action::Approve
        })
    );
    // A counsellor approving a case in counselling: the status decides.
    let ctx = complete_case(CaseStatus::Counselling, false);
    let got = evaluate(&user(Role::Counsellor), &ctx, &bare_request(Action::Approve));
    assert_eq!(
        got,
        Err(TransitionError::InvalidTransition {
            status: CaseStatus::Counselling,
            action: Action::Approve,
            reason: None
        })
    );
}

/// The diagram of domain.md, one edge a line.
const DIAGRAM: &str = "
    counselling    --submit-->              submitted
    submitted      --start_review-->        under_review
    under_review   --request_info-->        info_requested
    info_requested --answer_info-->         under_review
    under_review   --approve-->             approved
    under_review   --reject-->              rejected
    approved       --book_travel-->         travel_booked
    travel_booked  --report_no_show-->      approved
    travel_booked  --confirm_departure-->   departed
    departed       --start_reintegration--> reintegration
    reintegration  --close-->               closed
    departed       --close-->               closed
    counselling    --withdraw-->            withdrawn
    submitted      --withdraw-->            withdrawn
    under_review   --withdraw-->            withdrawn
    info_requested --withdraw-->            withdrawn
    approved       --withdraw-->            withdrawn
    travel_booked  --withdraw-->            withdrawn
    approved       --cancel-->              cancelled
    travel_booked  --cancel-->              cancelled
";

#[test]
fn every_allowed_transition_leads_where_the_diagram_says() {
    let edges: Vec<(CaseStatus, Action, CaseStatus)> = DIAGRAM
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let action = parts[1].trim_start_matches("--").trim_end_matches("-->");
            (
                CaseStatus::parse(parts[0]).expect("from"),
                Action::parse(action).expect("action"),
                CaseStatus::parse(parts[2]).expect("to"),
            )
        })
        .collect();
    let mut taken = Vec::new();
    for row in matrix() {
        for action in Action::ALL {
            for (_, actor) in callers() {
                if let Ok(transition) =
                    evaluate(&actor, &row.ctx, &valid_request(action, actor.role()))
                {
                    let edge = (transition.from, transition.action, transition.to);
                    assert_eq!(transition.from, row.ctx.status);
                    assert!(edges.contains(&edge), "{edge:?} is not in the diagram");
                    taken.push(edge);
                }
            }
        }
    }
    for edge in &edges {
        assert!(taken.contains(edge), "{edge:?} is never taken");
    }
}

#[test]
fn allowed_actions_are_exactly_what_evaluate_accepts() {
    for row in matrix() {
        for (name, actor) in callers() {
            let allowed = allowed_actions(&actor, &row.ctx);
            let accepted: Vec<Action> = Action::ALL
                .into_iter()
                .filter(|action| {
                    evaluate(&actor, &row.ctx, &valid_request(*action, actor.role())).is_ok()
                })
                .collect();
            assert_eq!(allowed, accepted, "{} by {name}", row.label);
            for action in Action::ALL {
                // Whatever the fields, a listed action is never refused with 409 or 403, and
                // an unlisted one always is.
                for request in [valid_request(action, actor.role()), bare_request(action)] {
                    let got = outcome(&evaluate(&actor, &row.ctx, &request));
                    let refused = matches!(got, Outcome::InvalidTransition | Outcome::Forbidden);
                    assert_eq!(
                        refused,
                        !allowed.contains(&action),
                        "{} {action} by {name}: {got:?}",
                        row.label
                    );
                }
            }
        }
    }
}

#[test]
fn terminal_statuses_take_no_action() {
    for status in CaseStatus::ALL {
        let has_rows = TABLE.iter().any(|rule| rule.from == status);
        assert_eq!(has_rows, !status.is_terminal(), "{status}");
    }
    let terminal =
        [CaseStatus::Rejected, CaseStatus::Closed, CaseStatus::Withdrawn, CaseStatus::Cancelled];
    for status in terminal {
        for project in [false, true] {
            let ctx = complete_case(status, project);
            for (name, actor) in callers() {
                assert_eq!(allowed_actions(&actor, &ctx), [], "{status} {name}");
                for action in Action::ALL {
                    assert_eq!(
                        outcome(&evaluate(&actor, &ctx, &valid_request(action, actor.role()))),
                        Outcome::InvalidTransition,
                        "{status} {action} {name}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_table_has_one_row_per_status_and_action() {
    for (index, rule) in TABLE.iter().enumerate() {
        assert!(
            !TABLE[..index].iter().any(|r| r.from == rule.from && r.action == rule.action),
            "{} {} twice",
            rule.from,
            rule.action
        );
    }
}

#[test]
fn swissrepat_books_ordinary_travel_and_iom_books_sim_travel() {
    let ctx = complete_case(CaseStatus::Approved, false);
    let booking = |sim: bool| {
        request(json!({
            "action": "book_travel",
            "itinerary": { "departure_airport": "GVA", "departure_at": "2026-12-20T07:00:00+01:00",
                "flights": ["LX 318", "tk1912"], "destination_airport": "ebl",
                "escort": "medical", "sim": sim }
        }))
    };
    let sim_error = Err(TransitionError::Invalid(vec![FieldError::new(
        "itinerary.sim",
        "not_allowed_for_role",
        "",
    )]));
    let repat = user(Role::SwissrepatOfficer);
    let iom = user(Role::IomCoordinator);
    assert_eq!(codes(evaluate(&repat, &ctx, &booking(true))), codes(sim_error.clone()));
    assert_eq!(codes(evaluate(&iom, &ctx, &booking(false))), codes(sim_error));
    for (actor, sim) in [(&repat, false), (&iom, true)] {
        let transition = evaluate(actor, &ctx, &booking(sim)).expect("booked");
        assert_eq!(transition.to, CaseStatus::TravelBooked);
        assert_eq!(
            transition.record,
            TransitionRecord::Booking(Itinerary {
                departure_airport: DepartureAirport::Gva,
                departure_at: "2026-12-20T06:00:00Z".parse().expect("timestamp"),
                flights: vec!["LX318".to_owned(), "TK1912".to_owned()],
                destination_airport: "EBL".to_owned(),
                escort: Escort::Medical,
                sim,
            })
        );
    }
    // Both may book as far as the case is concerned: the payload decides which.
    assert_eq!(allowed_actions(&repat, &ctx), [Action::BookTravel]);
    assert_eq!(allowed_actions(&iom, &ctx), [Action::BookTravel]);
}

#[test]
fn a_departed_case_is_closed_directly_only_without_a_reintegration_project() {
    let iom = user(Role::IomCoordinator);
    let with_project = complete_case(CaseStatus::Departed, true);
    let without = complete_case(CaseStatus::Departed, false);
    assert_eq!(allowed_actions(&iom, &with_project), [Action::StartReintegration]);
    assert_eq!(allowed_actions(&iom, &without), [Action::Close]);

    let close = valid_request(Action::Close, Some(Role::IomCoordinator));
    match evaluate(&iom, &with_project, &close) {
        Err(TransitionError::InvalidTransition { reason: Some(reason), .. }) => {
            assert!(reason.contains("reintegration project was approved"), "{reason}");
        }
        other => panic!("expected invalid_transition, got {other:?}"),
    }
    let transition = evaluate(&iom, &without, &close).expect("closed");
    assert_eq!((transition.from, transition.to), (CaseStatus::Departed, CaseStatus::Closed));

    let start = valid_request(Action::StartReintegration, Some(Role::IomCoordinator));
    assert_eq!(outcome(&evaluate(&iom, &without, &start)), Outcome::InvalidTransition);

    // A project approved with nothing to spend is no project.
    let mut zero_project = without.clone();
    zero_project.approved_assistance.push(approved("reintegration_project", 0));
    assert_eq!(allowed_actions(&iom, &zero_project), [Action::Close]);
}

#[test]
fn a_no_show_returns_the_case_to_approved_for_rebooking() {
    let ctx = complete_case(CaseStatus::TravelBooked, false);
    let transition =
        evaluate(&user(Role::SwissrepatOfficer), &ctx, &valid_request(Action::ReportNoShow, None))
            .expect("reported");
    assert_eq!(transition.to, CaseStatus::Approved);
    assert_eq!(transition.record.comment(), Some("Not there."));
}

#[test]
fn a_role_outside_its_institution_and_a_service_account_take_no_action() {
    let mut misplaced = user(Role::SemOfficer);
    misplaced.institution_kind = InstitutionKind::CounsellingService;
    let ctx = complete_case(CaseStatus::Submitted, false);
    assert_eq!(allowed_actions(&misplaced, &ctx), []);
    assert_eq!(
        outcome(&evaluate(&misplaced, &ctx, &valid_request(Action::StartReview, None))),
        Outcome::Forbidden
    );
    assert_eq!(allowed_actions(&service_account(), &ctx), []);
}

// --- guards ---

/// The (field, code) pairs of a refusal for invalid fields.
fn codes(result: Result<Transition, TransitionError>) -> Vec<(String, String)> {
    match result {
        Err(TransitionError::Invalid(errors)) => {
            errors.into_iter().map(|error| (error.field, error.code)).collect()
        }
        other => panic!("expected field errors, got {other:?}"),
    }
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(field, code)| ((*field).to_owned(), (*code).to_owned())).collect()
}

/// The field errors of `body` taken by `role` on a complete case in `status`.
fn errors_of(role: Role, status: CaseStatus, body: serde_json::Value) -> Vec<(String, String)> {
    codes(evaluate(&user(role), &complete_case(status, true), &request(body)))
}

#[test]
fn submit_names_every_missing_part_of_the_application() {
    let mut ctx = complete_case(CaseStatus::Counselling, false);
    ctx.persons = vec![];
    ctx.eligibility = EligibilityAnswers::default();
    ctx.voluntariness_signed_on = None;
    ctx.requested_components = 0;
    let got = codes(evaluate(&user(Role::Counsellor), &ctx, &valid_request(Action::Submit, None)));
    assert_eq!(
        got,
        pairs(&[
            ("persons", "principal_missing"),
            ("eligibility.criminal_offences", "required"),
            ("eligibility.abuse", "required"),
            ("eligibility.sufficient_assets", "required"),
            ("eligibility.prior_assistance", "required"),
            ("voluntariness_declaration.signed_on", "required"),
            ("requested_assistance", "required"),
        ])
    );
}

#[test]
fn submit_names_each_missing_field_of_the_principal_and_the_family() {
    let empty = PersonFacts {
        principal: false,
        surname: false,
        given_names: false,
        date_of_birth: false,
        sex: false,
        nationality: false,
        residence_status: false,
        zemis_number: false,
    };
    let mut ctx = complete_case(CaseStatus::Counselling, false);
    ctx.persons = vec![
        PersonFacts { surname: false, residence_status: false, ..PersonFacts::COMPLETE },
        PersonFacts { principal: true, ..empty },
    ];
    let got = codes(evaluate(&user(Role::Counsellor), &ctx, &valid_request(Action::Submit, None)));
    assert_eq!(
        got,
        pairs(&[
            // A family member needs identity, not the asylum-procedure data.
            ("persons[0].surname", "required"),
            ("persons[1].surname", "required"),
            ("persons[1].given_names", "required"),
            ("persons[1].date_of_birth", "required"),
            ("persons[1].sex", "required"),
            ("persons[1].nationality", "required"),
            ("persons[1].residence_status", "required"),
            ("persons[1].zemis_number", "required"),
        ])
    );
    ctx.persons = vec![
        PersonFacts { principal: true, ..PersonFacts::COMPLETE },
        PersonFacts { principal: true, ..PersonFacts::COMPLETE },
    ];
    let got = codes(evaluate(&user(Role::Counsellor), &ctx, &valid_request(Action::Submit, None)));
    assert_eq!(got, pairs(&[("persons", "principal_ambiguous")]));
}

#[test]
fn a_complete_application_is_submitted() {
    let ctx = complete_case(CaseStatus::Counselling, false);
    let transition = evaluate(&user(Role::Counsellor), &ctx, &valid_request(Action::Submit, None))
        .expect("submitted");
    assert_eq!(transition.record, TransitionRecord::Submission);
    assert_eq!(transition.to, CaseStatus::Submitted);
}

#[test]
fn start_review_makes_the_officer_the_reviewer() {
    let ctx = complete_case(CaseStatus::Submitted, false);
    let transition =
        evaluate(&user(Role::SemOfficer), &ctx, &valid_request(Action::StartReview, None))
            .expect("started");
    assert_eq!(transition.record, TransitionRecord::ReviewStarted { reviewer_id: ACTOR_ID });
}

#[test]
fn questions_answers_and_notes_must_say_something() {
    use CaseStatus::*;
    let cases = [
        (Role::SemOfficer, UnderReview, "request_info", "question"),
        (Role::Counsellor, InfoRequested, "answer_info", "answer"),
        (Role::SwissrepatOfficer, TravelBooked, "report_no_show", "comment"),
        (Role::Counsellor, Approved, "withdraw", "reason"),
    ];
    for (role, status, action, field) in cases {
        let got = errors_of(role, status, json!({ "action": action }));
        assert_eq!(got, pairs(&[(field, "required")]), "{action}");
        let got = errors_of(role, status, json!({ "action": action, field: "  \n " }));
        assert_eq!(got, pairs(&[(field, "required")]), "{action} blank");
        let got = errors_of(role, status, json!({ "action": action, field: "x".repeat(4001) }));
        assert_eq!(got, pairs(&[(field, "too_long")]), "{action} long");
    }
    let transition = evaluate(
        &user(Role::SemOfficer),
        &complete_case(UnderReview, false),
        &request(json!({ "action": "request_info", "question": "  Which school?  " })),
    )
    .expect("asked");
    assert_eq!(
        transition.record,
        TransitionRecord::InfoRequest { question: "Which school?".to_owned() }
    );
}

#[test]
fn approve_needs_reasons_and_a_valid_amount_per_component() {
    let approve = |body: serde_json::Value| {
        let mut body = body;
        body["action"] = json!("approve");
        errors_of(Role::SemOfficer, CaseStatus::UnderReview, body)
    };
    assert_eq!(
        approve(json!({})),
        pairs(&[("reasons", "required"), ("approved_assistance", "required")])
    );
    assert_eq!(
        approve(json!({ "reasons": "ok", "approved_assistance": [] })),
        pairs(&[("approved_assistance", "required")])
    );
    assert_eq!(
        approve(json!({
            "reasons": "ok",
            "override_justification": " ",
            "approved_assistance": [
                { "component": "startup_cash", "amount_rappen": 100000 },
                { "component": "housing", "amount_rappen": 1 },
                { "component": "startup_cash", "amount_rappen": 5 },
                { "amount_rappen": -1 },
                { "component": "medical" }
            ]
        })),
        pairs(&[
            ("override_justification", "required"),
            ("approved_assistance[1].component", "invalid_value"),
            ("approved_assistance[2].component", "duplicate"),
            ("approved_assistance[3].component", "required"),
            ("approved_assistance[3].amount_rappen", "out_of_range"),
            ("approved_assistance[4].amount_rappen", "required"),
        ])
    );
    let transition = evaluate(
        &user(Role::SemOfficer),
        &complete_case(CaseStatus::UnderReview, false),
        &request(json!({
            "action": "approve", "reasons": "Eligible.",
            "override_justification": "Medical needs in Erbil.",
            "approved_assistance": [
                { "component": "startup_cash", "amount_rappen": 100000 },
                { "component": "reintegration_project", "amount_rappen": 500000 },
                { "component": "travel_costs", "amount_rappen": 0 }
            ]
        })),
    )
    .expect("approved");
    assert_eq!(
        transition.record,
        TransitionRecord::Approval(Approval {
            reasons: "Eligible.".to_owned(),
            override_justification: Some("Medical needs in Erbil.".to_owned()),
            approved_assistance: vec![
                approved("startup_cash", 100_000),
                approved("reintegration_project", 500_000),
                approved("travel_costs", 0),
            ],
        })
    );
}

#[test]
fn reject_needs_a_legal_ground_and_reasons() {
    let reject = |body: serde_json::Value| {
        let mut body = body;
        body["action"] = json!("reject");
        errors_of(Role::SemOfficer, CaseStatus::UnderReview, body)
    };
    assert_eq!(reject(json!({})), pairs(&[("legal_ground", "required"), ("reasons", "required")]));
    assert_eq!(
        reject(json!({ "legal_ground": "bad_luck", "reasons": "x" })),
        pairs(&[("legal_ground", "invalid_value")])
    );
    for ground in LegalGround::ALL {
        let transition = evaluate(
            &user(Role::SemOfficer),
            &complete_case(CaseStatus::UnderReview, false),
            &request(
                json!({ "action": "reject", "legal_ground": ground.as_str(), "reasons": "r" }),
            ),
        )
        .expect("rejected");
        assert_eq!(
            transition.record,
            TransitionRecord::Rejection(Rejection {
                legal_ground: ground,
                reasons: "r".to_owned()
            })
        );
    }
}

#[test]
fn book_travel_names_each_missing_or_malformed_part_of_the_itinerary() {
    let book = |body: serde_json::Value| {
        let mut body = body;
        body["action"] = json!("book_travel");
        errors_of(Role::SwissrepatOfficer, CaseStatus::Approved, body)
    };
    assert_eq!(book(json!({})), pairs(&[("itinerary", "required")]));
    assert_eq!(
        book(json!({ "itinerary": {} })),
        pairs(&[
            ("itinerary.departure_airport", "required"),
            ("itinerary.departure_at", "required"),
            ("itinerary.flights", "required"),
            ("itinerary.destination_airport", "required"),
            ("itinerary.escort", "required"),
            ("itinerary.sim", "required"),
        ])
    );
    assert_eq!(
        book(json!({ "itinerary": {
            "departure_airport": "ZUR", "departure_at": "tomorrow morning",
            "flights": ["TK1912", "TURKISH 1"], "destination_airport": "EB1",
            "escort": "police", "sim": false } })),
        pairs(&[
            ("itinerary.departure_airport", "invalid_value"),
            ("itinerary.departure_at", "invalid_format"),
            ("itinerary.flights[1]", "invalid_format"),
            ("itinerary.destination_airport", "invalid_format"),
            ("itinerary.escort", "invalid_value"),
        ])
    );
    assert_eq!(
        book(json!({ "itinerary": {
            "departure_airport": "BSL", "departure_at": "2026-12-15T09:40:00Z",
            "flights": [], "destination_airport": "EBL", "escort": "social", "sim": false } })),
        pairs(&[("itinerary.flights", "required")])
    );
    assert_eq!(
        book(json!({ "itinerary": {
            "departure_airport": "BSL", "departure_at": "2026-12-15T09:40:00Z",
            "flights": vec!["TK1912"; 9], "destination_airport": "EBL", "escort": "social",
            "sim": false } })),
        pairs(&[("itinerary.flights", "too_many")])
    );
}

#[test]
fn confirm_departure_needs_the_time_and_a_payout_within_the_approval() {
    let confirm = |body: serde_json::Value| {
        let mut body = body;
        body["action"] = json!("confirm_departure");
        errors_of(Role::SwissrepatOfficer, CaseStatus::TravelBooked, body)
    };
    assert_eq!(confirm(json!({})), pairs(&[("departed_at", "required"), ("payout", "required")]));
    assert_eq!(
        confirm(json!({ "departed_at": "yesterday", "payout": {} })),
        pairs(&[
            ("departed_at", "invalid_format"),
            ("payout.startup_cash_rappen", "required"),
            ("payout.travel_money_rappen", "required"),
            ("payout.receipt_reference", "required"),
        ])
    );
    // The case's approval: 100000 start-up cash, 10000 travel money.
    assert_eq!(
        confirm(json!({ "departed_at": "2026-12-15T13:00:00Z",
            "payout": { "startup_cash_rappen": 100001, "travel_money_rappen": -1,
                "receipt_reference": "" } })),
        pairs(&[
            ("departed_at", "in_future"),
            ("payout.startup_cash_rappen", "exceeds_approval"),
            ("payout.travel_money_rappen", "out_of_range"),
            ("payout.receipt_reference", "required"),
        ])
    );
    // Travel money that SEM did not approve cannot be paid.
    let mut ctx = complete_case(CaseStatus::TravelBooked, false);
    ctx.approved_assistance = vec![approved("startup_cash", 100_000)];
    let got = codes(evaluate(
        &user(Role::IomCoordinator),
        &ctx,
        &valid_request(Action::ConfirmDeparture, None),
    ));
    assert_eq!(got, pairs(&[("payout.travel_money_rappen", "exceeds_approval")]));
    // Up to the approval, and a few minutes of clock skew, is fine.
    let transition = evaluate(
        &user(Role::IomCoordinator),
        &complete_case(CaseStatus::TravelBooked, false),
        &request(json!({ "action": "confirm_departure", "departed_at": "2026-12-15T12:04:00Z",
            "payout": { "startup_cash_rappen": 50000, "travel_money_rappen": 10000,
                "receipt_reference": " ZRH-2026-1234 " } })),
    )
    .expect("confirmed");
    assert_eq!(
        transition.record,
        TransitionRecord::Departure(Departure {
            departed_at: "2026-12-15T12:04:00Z".parse().expect("timestamp"),
            payout: Payout {
                startup_cash_rappen: 50_000,
                travel_money_rappen: 10_000,
                receipt_reference: "ZRH-2026-1234".to_owned(),
            },
        })
    );
}

#[test]
fn departures_and_flights_lie_within_a_few_years_of_now() {
    // The contexts' clock is 2026-12-15T12:00:00Z.
    // The field errors of a request, none when it is valid.
    let errors = |status: CaseStatus, body: serde_json::Value| match evaluate(
        &user(Role::SwissrepatOfficer),
        &complete_case(status, true),
        &request(body),
    ) {
        Ok(_) => Vec::new(),
        refused => codes(refused),
    };
    let confirm = |departed_at: &str| {
        errors(
            CaseStatus::TravelBooked,
            json!({ "action": "confirm_departure", "departed_at": departed_at,
                "payout": { "startup_cash_rappen": 0, "travel_money_rappen": 0,
                    "receipt_reference": "ZRH-1" } }),
        )
    };
    assert_eq!(confirm("0001-12-15T12:00:00Z"), pairs(&[("departed_at", "too_early")]));
    assert_eq!(confirm("0000-12-15T12:00:00Z"), pairs(&[("departed_at", "out_of_range")]));
    assert_eq!(confirm("2021-12-14T23:00:00Z"), pairs(&[("departed_at", "too_early")]));
    assert_eq!(confirm("2021-12-15T00:00:00Z"), pairs(&[]));
    let book = |departure_at: &str| {
        errors(
            CaseStatus::Approved,
            json!({ "action": "book_travel", "itinerary": { "departure_airport": "ZRH",
                "departure_at": departure_at, "flights": ["TK1912"],
                "destination_airport": "EBL", "escort": "none", "sim": false } }),
        )
    };
    assert_eq!(book("0000-01-01T10:00:00Z"), pairs(&[("itinerary.departure_at", "out_of_range")]));
    assert_eq!(book("2030-01-01T10:00:00Z"), pairs(&[("itinerary.departure_at", "too_far")]));
    assert_eq!(book("2021-12-01T10:00:00Z"), pairs(&[("itinerary.departure_at", "too_early")]));
    assert_eq!(book("2026-12-01T10:00:00Z"), pairs(&[]), "recorded after the flight left");
}

#[test]
fn start_reintegration_needs_every_travelling_adults_consent_to_the_mission() {
    let iom = user(Role::IomCoordinator);
    let mut ctx = complete_case(CaseStatus::Departed, true);
    ctx.mission_consent_missing = vec![0, 2];
    let request = valid_request(Action::StartReintegration, None);
    let refused = evaluate(&iom, &ctx, &request);
    assert_eq!(codes(refused.clone()), pairs(&[("consents", "consent_missing")]));
    let Err(TransitionError::Invalid(errors)) = refused else { panic!("refused") };
    assert!(errors[0].message.contains("persons[0], persons[2]"), "{}", errors[0].message);
    ctx.mission_consent_missing.clear();
    assert!(evaluate(&iom, &ctx, &request).is_ok());
}

#[test]
fn start_reintegration_needs_an_active_iom_mission_of_the_destination_country() {
    let iom = user(Role::IomCoordinator);
    let start = |ctx: &TransitionContext, mission_id: serde_json::Value| {
        codes(evaluate(
            &iom,
            ctx,
            &request(json!({ "action": "start_reintegration", "mission_id": mission_id })),
        ))
    };
    let ctx = complete_case(CaseStatus::Departed, true);
    let id = json!(MISSION_IQ.to_string());
    assert_eq!(start(&ctx, json!(null)), pairs(&[("mission_id", "required")]));
    assert_eq!(start(&ctx, json!("IOM Iraq")), pairs(&[("mission_id", "invalid_format")]));
    assert_eq!(
        start(&ctx, json!(Uuid::from_u128(43).to_string())),
        pairs(&[("mission_id", "not_found")])
    );
    let with_mission = |change: &dyn Fn(&mut MissionFacts)| {
        let mut ctx = ctx.clone();
        if let Some(mission) = ctx.mission.as_mut() {
            change(mission);
        }
        ctx
    };
    let sem = with_mission(&|m| {
        m.kind = InstitutionKind::Sem;
        m.country = None;
    });
    assert_eq!(start(&sem, id.clone()), pairs(&[("mission_id", "not_an_iom_mission")]));
    let inactive = with_mission(&|m| m.active = false);
    assert_eq!(start(&inactive, id.clone()), pairs(&[("mission_id", "inactive")]));
    let afghanistan = with_mission(&|m| m.country = Some("AF".to_owned()));
    assert_eq!(start(&afghanistan, id.clone()), pairs(&[("mission_id", "wrong_country")]));
    let mut unknown = ctx.clone();
    unknown.mission = None;
    assert_eq!(start(&unknown, id), pairs(&[("mission_id", "not_found")]));

    let request = valid_request(Action::StartReintegration, None);
    assert_eq!(request.mission_id(), Some(MISSION_IQ));
    let transition = evaluate(&iom, &ctx, &request).expect("started");
    assert_eq!(
        transition.record,
        TransitionRecord::ReintegrationStarted { mission_id: MISSION_IQ }
    );
    assert_eq!(bare_request(Action::StartReintegration).mission_id(), None);
    assert_eq!(valid_request(Action::Close, None).mission_id(), None);
}

#[test]
fn a_reintegration_closed_with_money_or_visits_open_needs_a_comment() {
    let iom = user(Role::IomCoordinator);
    let close = |comment: Option<&str>| {
        request(json!({ "action": "close", "outcome": "completed", "comment": comment }))
    };
    let refusal = |ctx: &TransitionContext| match evaluate(&iom, ctx, &close(None)) {
        Err(TransitionError::Invalid(errors)) => {
            let [error] = errors.as_slice() else { panic!("one error: {errors:?}") };
            assert_eq!((error.field.as_str(), error.code.as_str()), ("comment", "required"));
            error.message.clone()
        }
        other => panic!("expected the comment to be required, got {other:?}"),
    };

    let mut ctx = complete_case(CaseStatus::Reintegration, true);
    ctx.disbursed_rappen = 180_000;
    ctx.open_visits = 2;
    assert_eq!(
        refusal(&ctx),
        "CHF 1,200.00 of the approved project is not disbursed and 2 planned visits are open: \
         say why the case closes anyway"
    );
    let explained = evaluate(&iom, &ctx, &close(Some("The person moved away."))).expect("closed");
    assert_eq!(explained.record.comment(), Some("The person moved away."));
    // A blank comment explains nothing.
    assert!(matches!(evaluate(&iom, &ctx, &close(Some("  "))), Err(TransitionError::Invalid(_))));

    ctx.open_visits = 0;
    assert_eq!(
        refusal(&ctx),
        "CHF 1,200.00 of the approved project is not disbursed: say why the case closes anyway"
    );
    ctx.disbursed_rappen = 300_000;
    ctx.open_visits = 1;
    assert_eq!(refusal(&ctx), "1 planned visit is open: say why the case closes anyway");

    ctx.open_visits = 0;
    let closed = evaluate(&iom, &ctx, &close(None)).expect("nothing open");
    assert_eq!(closed.record.comment(), None);

    // A departed case without a project has nothing to disburse or visit.
    let departed = complete_case(CaseStatus::Departed, false);
    assert!(evaluate(&iom, &departed, &close(None)).is_ok());
}

#[test]
fn close_needs_an_outcome_and_other_needs_a_comment() {
    let close = |body: serde_json::Value| {
        let mut body = body;
        body["action"] = json!("close");
        errors_of(Role::IomCoordinator, CaseStatus::Reintegration, body)
    };
    assert_eq!(close(json!({})), pairs(&[("outcome", "required")]));
    assert_eq!(close(json!({ "outcome": "done" })), pairs(&[("outcome", "invalid_value")]));
    assert_eq!(close(json!({ "outcome": "other" })), pairs(&[("comment", "required")]));
    let ctx = complete_case(CaseStatus::Reintegration, true);
    for outcome in ClosureOutcome::ALL {
        let transition = evaluate(
            &user(Role::IomCoordinator),
            &ctx,
            &request(json!({ "action": "close", "outcome": outcome.as_str(), "comment": "c" })),
        )
        .expect("closed");
        assert_eq!(
            transition.record,
            TransitionRecord::Closure(Closure { outcome, comment: Some("c".to_owned()) })
        );
        assert_eq!(transition.record.comment(), Some("c"));
    }
}

#[test]
fn cancel_needs_a_listed_reason_and_other_needs_a_comment() {
    let cancel = |body: serde_json::Value| {
        let mut body = body;
        body["action"] = json!("cancel");
        errors_of(Role::SemOfficer, CaseStatus::Approved, body)
    };
    assert_eq!(cancel(json!({})), pairs(&[("reason", "required")]));
    assert_eq!(cancel(json!({ "reason": "sick" })), pairs(&[("reason", "invalid_value")]));
    assert_eq!(cancel(json!({ "reason": "other" })), pairs(&[("comment", "required")]));
    for reason in CancelReason::ALL {
        let transition = evaluate(
            &user(Role::SemOfficer),
            &complete_case(CaseStatus::TravelBooked, false),
            &request(json!({ "action": "cancel", "reason": reason.as_str(), "comment": "c" })),
        )
        .expect("cancelled");
        assert_eq!(transition.to, CaseStatus::Cancelled);
        assert_eq!(
            transition.record,
            TransitionRecord::Cancellation(Cancellation { reason, comment: Some("c".to_owned()) })
        );
    }
}

#[test]
fn withdraw_records_the_reason() {
    let transition = evaluate(
        &user(Role::Counsellor),
        &complete_case(CaseStatus::InfoRequested, false),
        &valid_request(Action::Withdraw, None),
    )
    .expect("withdrawn");
    assert_eq!(transition.to, CaseStatus::Withdrawn);
    assert_eq!(transition.record, TransitionRecord::Withdrawal { reason: "Wants to stay.".into() });
}

#[test]
fn an_invalid_refusal_reads_well() {
    let error = TransitionError::InvalidTransition {
        status: CaseStatus::Departed,
        action: Action::Close,
        reason: Some(Precondition::NoReintegrationProject.unmet()),
    };
    assert_eq!(
        error.to_string(),
        "close is not possible while the case is departed: a reintegration project was \
         approved, so the case is closed after its reintegration"
    );
    let error = TransitionError::Forbidden { status: CaseStatus::Approved, action: Action::Cancel };
    assert_eq!(error.to_string(), "your role may not cancel a case that is approved");
}

// --- the request body ---

#[test]
fn every_shape_of_architecture_md_deserializes() {
    let shapes = [
        (r#"{ "action": "submit" }"#, TransitionRequest::Submit),
        (r#"{ "action": "start_review" }"#, TransitionRequest::StartReview),
        (
            r#"{ "action": "request_info", "question": "…" }"#,
            TransitionRequest::RequestInfo(RequestInfo { question: Some("…".into()) }),
        ),
        (
            r#"{ "action": "answer_info", "answer": "…" }"#,
            TransitionRequest::AnswerInfo(AnswerInfo { answer: Some("…".into()) }),
        ),
        (
            r#"{ "action": "approve", "reasons": "…", "override_justification": null,
                 "approved_assistance": [{ "component": "startup_cash", "amount_rappen": 100000 }] }"#,
            TransitionRequest::Approve(Approve {
                reasons: Some("…".into()),
                override_justification: None,
                approved_assistance: Some(vec![ApprovedAmountInput {
                    component: Some("startup_cash".into()),
                    amount_rappen: Some(100_000),
                }]),
            }),
        ),
        (
            r#"{ "action": "reject", "legal_ground": "sufficient_assets", "reasons": "…" }"#,
            TransitionRequest::Reject(Reject {
                legal_ground: Some("sufficient_assets".into()),
                reasons: Some("…".into()),
            }),
        ),
        (
            r#"{ "action": "book_travel", "itinerary": { "departure_airport": "ZRH",
                 "departure_at": "2026-12-15T09:40:00Z", "flights": ["TK1912"],
                 "destination_airport": "EBL", "escort": "none", "sim": false } }"#,
            TransitionRequest::BookTravel(BookTravel {
                itinerary: Some(ItineraryInput {
                    departure_airport: Some("ZRH".into()),
                    departure_at: Some("2026-12-15T09:40:00Z".into()),
                    flights: Some(vec!["TK1912".into()]),
                    destination_airport: Some("EBL".into()),
                    escort: Some("none".into()),
                    sim: Some(false),
                }),
            }),
        ),
        (
            r#"{ "action": "report_no_show", "comment": "…" }"#,
            TransitionRequest::ReportNoShow(ReportNoShow { comment: Some("…".into()) }),
        ),
        (
            r#"{ "action": "confirm_departure", "departed_at": "2026-12-15T09:52:00Z",
                 "payout": { "startup_cash_rappen": 100000, "travel_money_rappen": 10000,
                             "receipt_reference": "ZRH-2026-1234" } }"#,
            TransitionRequest::ConfirmDeparture(ConfirmDeparture {
                departed_at: Some("2026-12-15T09:52:00Z".into()),
                payout: Some(PayoutInput {
                    startup_cash_rappen: Some(100_000),
                    travel_money_rappen: Some(10_000),
                    receipt_reference: Some("ZRH-2026-1234".into()),
                }),
            }),
        ),
        (
            r#"{ "action": "start_reintegration", "mission_id": "<institution id>" }"#,
            TransitionRequest::StartReintegration(StartReintegration {
                mission_id: Some("<institution id>".into()),
            }),
        ),
        (
            r#"{ "action": "close", "outcome": "completed" }"#,
            TransitionRequest::Close(Close { outcome: Some("completed".into()), comment: None }),
        ),
        (
            r#"{ "action": "withdraw", "reason": "…" }"#,
            TransitionRequest::Withdraw(Withdraw { reason: Some("…".into()) }),
        ),
        (
            r#"{ "action": "cancel", "reason": "no_show" }"#,
            TransitionRequest::Cancel(Cancel { reason: Some("no_show".into()), comment: None }),
        ),
    ];
    assert_eq!(shapes.len(), Action::ALL.len());
    for (json, expected) in shapes {
        let parsed: TransitionRequest = serde_json::from_str(json).expect(json);
        assert_eq!(parsed, expected, "{json}");
        // And back: the tag is written as `action`.
        let written = serde_json::to_value(&parsed).expect("serialisable");
        assert_eq!(written["action"], json!(parsed.action().as_str()));
    }
}

#[test]
fn a_body_without_a_known_action_is_refused_by_serde() {
    for body in [r#"{}"#, r#"{ "action": "teleport" }"#, r#"{ "question": "…" }"#] {
        assert!(serde_json::from_str::<TransitionRequest>(body).is_err(), "{body}");
    }
}

#[test]
fn each_action_name_round_trips() {
    for action in Action::ALL {
        assert_eq!(Action::parse(action.as_str()), Some(action));
        assert_eq!(serde_json::to_value(action).expect("json"), json!(action.as_str()));
    }
}

// --- the OpenAPI schema ---

fn schema_json<T: serde::Serialize>(schema: &T) -> serde_json::Value {
    serde_json::to_value(schema).expect("a schema serialises")
}

#[test]
fn the_schema_is_one_union_discriminated_by_action() {
    use utoipa::{PartialSchema, ToSchema};

    let union = schema_json(&TransitionRequest::schema());
    assert_eq!(TransitionRequest::name(), "TransitionRequest");
    assert_eq!(union["discriminator"]["propertyName"], "action");
    let one_of = union["oneOf"].as_array().expect("oneOf");
    assert_eq!(one_of.len(), Action::ALL.len());

    let mut collected = Vec::new();
    TransitionRequest::schemas(&mut collected);
    let named = |name: &str| {
        collected
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, schema)| schema_json(schema))
            .unwrap_or_else(|| panic!("{name} is not among the schemas"))
    };
    for action in Action::ALL {
        let target = union["discriminator"]["mapping"][action.as_str()]
            .as_str()
            .unwrap_or_else(|| panic!("{action} has no mapping"));
        assert!(one_of.iter().any(|item| item["$ref"] == target), "{action}");
        let name = target.trim_start_matches("#/components/schemas/");
        let variant = named(name);
        assert_eq!(variant["properties"]["action"]["enum"], json!([action.as_str()]), "{name}");
        assert_eq!(variant["required"][0], "action", "{name}");
    }
    let approve = named("TransitionApprove");
    assert_eq!(
        approve["required"],
        json!(["action", "reasons", "approved_assistance"]),
        "override_justification is optional"
    );
    assert_eq!(
        named("TransitionWithdraw")["description"],
        "`withdraw`: counselling | submitted | under_review | info_requested | approved | \
         travel_booked → withdrawn, by counsellor. The person no longer wishes to return with \
         assistance."
    );
    assert_eq!(
        named("TransitionClose")["description"]
            .as_str()
            .map(|d| d
                .starts_with("`close`: reintegration | departed → closed, by iom_coordinator.")),
        Some(true)
    );
    let book = named("TransitionBookTravel");
    assert_eq!(book["properties"]["itinerary"]["$ref"], "#/components/schemas/ItineraryInput");

    // Every reference points at a schema that is collected.
    let text =
        serde_json::to_string(&collected.iter().map(|(_, s)| s).collect::<Vec<_>>()).expect("json");
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap_or_default();
        named(name);
    }
}

mod arbitrary_input {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever strings arrive, the guards answer with named fields, never a panic.
        #[test]
        fn any_itinerary_or_payout_is_accepted_or_refused_field_by_field(
            airport in ".{0,6}",
            at in ".{0,30}",
            flights in proptest::collection::vec(".{0,9}", 0..10),
            destination in ".{0,5}",
            escort in ".{0,8}",
            startup in any::<i64>(),
            reference in ".{0,120}",
        ) {
            let booking = request(json!({ "action": "book_travel", "itinerary": {
                "departure_airport": airport, "departure_at": at, "flights": flights,
                "destination_airport": destination, "escort": escort, "sim": false } }));
            let ctx = complete_case(CaseStatus::Approved, false);
            match evaluate(&user(Role::SwissrepatOfficer), &ctx, &booking) {
                Ok(_) => {}
                Err(TransitionError::Invalid(errors)) => {
                    prop_assert!(!errors.is_empty());
                    prop_assert!(errors.iter().all(|e| e.field.starts_with("itinerary.")));
                }
                Err(other) => prop_assert!(false, "{other:?}"),
            }
            let departure = request(json!({ "action": "confirm_departure", "departed_at": at,
                "payout": { "startup_cash_rappen": startup, "travel_money_rappen": 0,
                    "receipt_reference": reference } }));
            let ctx = complete_case(CaseStatus::TravelBooked, false);
            match evaluate(&user(Role::SwissrepatOfficer), &ctx, &departure) {
                Ok(_) => {}
                Err(TransitionError::Invalid(errors)) => {
                    prop_assert!(!errors.is_empty());
                    prop_assert!(errors
                        .iter()
                        .all(|e| e.field == "departed_at" || e.field.starts_with("payout.")));
                }
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
    }
}

/// A case held by another SEM officer, or being transferred to another canton.
mod held_cases {
    use super::*;

    const OTHER_OFFICER: Uuid = Uuid::from_u128(8);

    fn reviewed_by(status: CaseStatus, reviewer_id: Option<Uuid>) -> TransitionContext {
        complete_case(status, false).held(Holding { reviewer_id, transfer_pending: false })
    }

    #[test]
    fn only_the_reviewer_takes_sems_decisions() {
        let sem = user(Role::SemOfficer);
        let decisions: [(CaseStatus, TransitionRequest); 4] = [
            (
                CaseStatus::UnderReview,
                TransitionRequest::RequestInfo(RequestInfo {
                    question: Some("Which school?".into()),
                }),
            ),
            (
                CaseStatus::UnderReview,
                TransitionRequest::Reject(Reject {
                    legal_ground: Some("abuse".into()),
                    reasons: Some("Obvious abuse".into()),
                }),
            ),
            (
                CaseStatus::Approved,
                TransitionRequest::Cancel(Cancel {
                    reason: Some("absconded".into()),
                    comment: None,
                }),
            ),
            (
                CaseStatus::TravelBooked,
                TransitionRequest::Cancel(Cancel {
                    reason: Some("deceased".into()),
                    comment: None,
                }),
            ),
        ];
        for (status, request) in decisions {
            for reviewer in [None, Some(OTHER_OFFICER)] {
                let ctx = reviewed_by(status, reviewer);
                assert_eq!(
                    evaluate(&sem, &ctx, &request),
                    Err(TransitionError::NotAssigned { action: request.action() }),
                    "{status} reviewed by {reviewer:?}"
                );
                assert!(!allowed_actions(&sem, &ctx).contains(&request.action()));
            }
            let ctx = reviewed_by(status, Some(ACTOR_ID));
            assert!(evaluate(&sem, &ctx, &request).is_ok(), "{status}");
            assert!(allowed_actions(&sem, &ctx).contains(&request.action()));
        }
    }

    #[test]
    fn any_sem_officer_takes_an_unassigned_case_for_review() {
        let ctx = reviewed_by(CaseStatus::Submitted, None);
        let sem = user(Role::SemOfficer);
        assert!(evaluate(&sem, &ctx, &TransitionRequest::StartReview).is_ok());
        assert_eq!(allowed_actions(&sem, &ctx), [Action::StartReview]);
    }

    #[test]
    fn a_pending_transfer_stops_the_counselling_service_only() {
        let pending = |status| {
            complete_case(status, false)
                .held(Holding { reviewer_id: Some(ACTOR_ID), transfer_pending: true })
        };
        let counsellor = user(Role::Counsellor);
        let submit = TransitionRequest::Submit;
        assert_eq!(
            evaluate(&counsellor, &pending(CaseStatus::Counselling), &submit),
            Err(TransitionError::TransferPending { action: Action::Submit })
        );
        assert!(allowed_actions(&counsellor, &pending(CaseStatus::Counselling)).is_empty());
        assert!(allowed_actions(&counsellor, &pending(CaseStatus::InfoRequested)).is_empty());
        // SEM goes on deciding while the cantons settle who counsels the person.
        let sem = user(Role::SemOfficer);
        let ask =
            TransitionRequest::RequestInfo(RequestInfo { question: Some("Which canton?".into()) });
        assert!(evaluate(&sem, &pending(CaseStatus::UnderReview), &ask).is_ok());
    }
}
