//! What each action needs: the request's fields parsed into the record to keep, and the facts
//! of the case checked, every missing or invalid one named as a [`FieldError`].

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::context::TransitionContext;
use super::record::{
    Approval, ApprovedAmount, COMPONENTS, CancelReason, Cancellation, Closure, ClosureOutcome,
    Departure, DepartureAirport, Escort, Itinerary, LegalGround, Payout, Rejection, STARTUP_CASH,
    TRAVEL_MONEY, TransitionRecord,
};
use super::request::{
    Approve, BookTravel, Cancel, Close, ConfirmDeparture, PayoutInput, Reject, StartReintegration,
    TransitionRequest,
};
use crate::money::AMOUNT_MAX_RAPPEN;
use crate::validation::{DateSpan, parse_time, text};
use crate::{CaseStatus, FieldError, InstitutionKind, Rappen, Role, Validation};

/// Questions, answers, reasons and comments.
const TEXT_MAX: usize = 4000;
/// Receipt references.
const REFERENCE_MAX: usize = 100;
/// Flights of one itinerary.
const FLIGHTS_MAX: usize = 8;
/// How far a reported departure may lie ahead of our clock (clock skew of the reporting
/// device), before it counts as "in the future".
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// Checks what `request` needs, for an actor with `role` (already allowed by the table) and
/// id `actor_id`, and returns the record to keep.
pub(super) fn check(
    role: Role,
    actor_id: Uuid,
    ctx: &TransitionContext,
    request: &TransitionRequest,
) -> Result<TransitionRecord, Vec<FieldError>> {
    let mut v = Validation::new();
    let record = match request {
        TransitionRequest::Submit => {
            submit(&mut v, ctx);
            Some(TransitionRecord::Submission)
        }
        TransitionRequest::StartReview => {
            Some(TransitionRecord::ReviewStarted { reviewer_id: actor_id })
        }
        TransitionRequest::RequestInfo(input) => required_text(&mut v, "question", &input.question)
            .map(|question| TransitionRecord::InfoRequest { question }),
        TransitionRequest::AnswerInfo(input) => required_text(&mut v, "answer", &input.answer)
            .map(|answer| TransitionRecord::InfoAnswer { answer }),
        TransitionRequest::Approve(input) => approve(&mut v, input).map(TransitionRecord::Approval),
        TransitionRequest::Reject(input) => reject(&mut v, input).map(TransitionRecord::Rejection),
        TransitionRequest::BookTravel(input) => {
            book_travel(&mut v, role, ctx, input).map(TransitionRecord::Booking)
        }
        TransitionRequest::ReportNoShow(input) => required_text(&mut v, "comment", &input.comment)
            .map(|comment| TransitionRecord::NoShow { comment }),
        TransitionRequest::ConfirmDeparture(input) => {
            confirm_departure(&mut v, ctx, input).map(TransitionRecord::Departure)
        }
        TransitionRequest::StartReintegration(input) => start_reintegration(&mut v, ctx, input)
            .map(|mission_id| TransitionRecord::ReintegrationStarted { mission_id }),
        TransitionRequest::Close(input) => close(&mut v, ctx, input).map(TransitionRecord::Closure),
        TransitionRequest::Withdraw(input) => required_text(&mut v, "reason", &input.reason)
            .map(|reason| TransitionRecord::Withdrawal { reason }),
        TransitionRequest::Cancel(input) => {
            cancel(&mut v, input).map(TransitionRecord::Cancellation)
        }
    };
    match record {
        Some(record) => v.finish(record),
        None => Err(v.into_errors()),
    }
}

/// A complete household (the principal applicant with identity and asylum-procedure data,
/// everyone else with identity), every eligibility question answered, the declaration of
/// voluntariness signed and at least one component requested.
fn submit(v: &mut Validation, ctx: &TransitionContext) {
    if ctx.return_request_missing {
        v.push(
            "documents",
            "return_request_missing",
            "documents: the signed request for return assistance (a document of category \
             return_request) must be uploaded before the case is submitted",
        );
    }
    let principals = ctx.persons.iter().filter(|person| person.principal).count();
    match principals {
        0 => v.push("persons", "principal_missing", "the case has no principal applicant"),
        1 => {}
        _ => v.push("persons", "principal_ambiguous", "the case has more than one principal"),
    }
    for (index, person) in ctx.persons.iter().enumerate() {
        let mut fields = vec![
            ("surname", person.surname),
            ("given_names", person.given_names),
            ("date_of_birth", person.date_of_birth),
            ("sex", person.sex),
            ("nationality", person.nationality),
        ];
        if person.principal {
            fields.push(("residence_status", person.residence_status));
            fields.push(("zemis_number", person.zemis_number));
        }
        for (name, present) in fields {
            if !present {
                missing(v, &format!("persons[{index}].{name}"));
            }
        }
    }
    let answers = [
        ("criminal_offences", ctx.eligibility.criminal_offences),
        ("abuse", ctx.eligibility.abuse),
        ("sufficient_assets", ctx.eligibility.sufficient_assets),
        ("prior_assistance", ctx.eligibility.prior_assistance),
    ];
    for (name, answer) in answers {
        if answer.is_none() {
            missing(v, &format!("eligibility.{name}"));
        }
    }
    if ctx.voluntariness_signed_on.is_none() {
        v.push(
            "voluntariness_declaration.signed_on",
            "required",
            "the declaration of voluntariness must be signed before the case is submitted",
        );
    }
    if ctx.requested_components == 0 {
        v.push(
            "requested_assistance",
            "required",
            "at least one assistance component must be requested",
        );
    }
}

fn approve(v: &mut Validation, input: &Approve) -> Option<Approval> {
    let reasons = required_text(v, "reasons", &input.reasons);
    let override_justification = match &input.override_justification {
        None => Some(None),
        Some(value) => v.check(text("override_justification", value, TEXT_MAX)).map(Some),
    };
    let approved_assistance = match input.approved_assistance.as_deref() {
        None | Some([]) => {
            v.push("approved_assistance", "required", "at least one approved amount is required");
            None
        }
        // One entry per component: a longer list cannot be valid, and is refused before its
        // entries are compared with each other.
        Some(entries) if entries.len() > COMPONENTS.len() => {
            v.push(
                "approved_assistance",
                "too_many",
                format!(
                    "approved_assistance must hold at most {} entries, one per component",
                    COMPONENTS.len()
                ),
            );
            None
        }
        Some(entries) => {
            let mut approved: Vec<ApprovedAmount> = Vec::with_capacity(entries.len());
            let mut complete = true;
            for (index, entry) in entries.iter().enumerate() {
                let field = format!("approved_assistance[{index}].component");
                let component = match entry.component.as_deref().map(str::trim) {
                    None | Some("") => {
                        missing(v, &field);
                        None
                    }
                    Some(name) if !COMPONENTS.contains(&name) => {
                        v.push(
                            field.as_str(),
                            "invalid_value",
                            format!("{field} must be one of {}", COMPONENTS.join(", ")),
                        );
                        None
                    }
                    Some(name)
                        if entries[..index].iter().any(|earlier| {
                            earlier.component.as_deref().map(str::trim) == Some(name)
                        }) =>
                    {
                        v.push(
                            field.as_str(),
                            "duplicate",
                            format!("{name} is approved more than once"),
                        );
                        None
                    }
                    Some(name) => Some(name.to_owned()),
                };
                let amount = amount(
                    v,
                    &format!("approved_assistance[{index}].amount_rappen"),
                    entry.amount_rappen,
                );
                match (component, amount) {
                    (Some(component), Some(amount_rappen)) => {
                        approved.push(ApprovedAmount { component, amount_rappen });
                    }
                    _ => complete = false,
                }
            }
            complete.then_some(approved)
        }
    };
    Some(Approval {
        reasons: reasons?,
        override_justification: override_justification?,
        approved_assistance: approved_assistance?,
    })
}

fn reject(v: &mut Validation, input: &Reject) -> Option<Rejection> {
    let legal_ground = vocabulary(
        v,
        "legal_ground",
        &input.legal_ground,
        LegalGround::parse,
        &LegalGround::ALL.map(LegalGround::as_str),
    );
    let reasons = required_text(v, "reasons", &input.reasons);
    Some(Rejection { legal_ground: legal_ground?, reasons: reasons? })
}

/// The itinerary, booked by swissREPAT, or by the IOM coordinator when it is a SIM journey.
fn book_travel(
    v: &mut Validation,
    role: Role,
    ctx: &TransitionContext,
    input: &BookTravel,
) -> Option<Itinerary> {
    let Some(itinerary) = &input.itinerary else {
        missing(v, "itinerary");
        return None;
    };
    let departure_airport = match itinerary.departure_airport.as_deref().map(str::trim) {
        None | Some("") => {
            missing(v, "itinerary.departure_airport");
            None
        }
        Some(code) => {
            let airport = DepartureAirport::parse(&code.to_ascii_uppercase());
            if airport.is_none() {
                v.push(
                    "itinerary.departure_airport",
                    "invalid_value",
                    "itinerary.departure_airport must be ZRH, GVA or BSL",
                );
            }
            airport
        }
    };
    // A flight booked may also be recorded after it left, within the same few years.
    let field = "itinerary.departure_at";
    let departure_at = timestamp(v, field, &itinerary.departure_at)
        .and_then(|at| v.check(DateSpan::events(ctx.now.date_naive()).check_time(field, at)));
    let flights = match itinerary.flights.as_deref() {
        None | Some([]) => {
            v.push("itinerary.flights", "required", "at least one flight number is required");
            None
        }
        Some(flights) if flights.len() > FLIGHTS_MAX => {
            v.push(
                "itinerary.flights",
                "too_many",
                format!("an itinerary has at most {FLIGHTS_MAX} flights"),
            );
            None
        }
        Some(flights) => {
            let parsed: Vec<Option<String>> = flights
                .iter()
                .enumerate()
                .map(|(index, flight)| {
                    let number = flight_number(flight);
                    if number.is_none() {
                        let field = format!("itinerary.flights[{index}]");
                        v.push(
                            field.as_str(),
                            "invalid_format",
                            format!("{field} must be an IATA flight number such as TK1912"),
                        );
                    }
                    number
                })
                .collect();
            parsed.into_iter().collect::<Option<Vec<String>>>()
        }
    };
    let destination_airport = match itinerary.destination_airport.as_deref().map(str::trim) {
        None | Some("") => {
            missing(v, "itinerary.destination_airport");
            None
        }
        Some(code) if code.len() == 3 && code.chars().all(|c| c.is_ascii_alphabetic()) => {
            Some(code.to_ascii_uppercase())
        }
        Some(_) => {
            v.push(
                "itinerary.destination_airport",
                "invalid_format",
                "itinerary.destination_airport must be a three-letter IATA airport code",
            );
            None
        }
    };
    let escort = vocabulary(
        v,
        "itinerary.escort",
        &itinerary.escort,
        Escort::parse,
        &Escort::ALL.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
    );
    let sim = match itinerary.sim {
        None => {
            missing(v, "itinerary.sim");
            None
        }
        Some(true) if role != Role::IomCoordinator => {
            v.push(
                "itinerary.sim",
                "not_allowed_for_role",
                "SIM travel (sim: true) is booked by IOM Bern's coordinator, not by swissREPAT",
            );
            None
        }
        Some(false) if role != Role::SwissrepatOfficer => {
            v.push(
                "itinerary.sim",
                "not_allowed_for_role",
                "travel outside SIM (sim: false) is booked by swissREPAT, not by IOM Bern",
            );
            None
        }
        Some(sim) => Some(sim),
    };
    Some(Itinerary {
        departure_airport: departure_airport?,
        departure_at: departure_at?,
        flights: flights?,
        destination_airport: destination_airport?,
        escort: escort?,
        sim: sim?,
    })
}

/// The actual departure, and a payout within what SEM approved.
fn confirm_departure(
    v: &mut Validation,
    ctx: &TransitionContext,
    input: &ConfirmDeparture,
) -> Option<Departure> {
    let departed_at = timestamp(v, "departed_at", &input.departed_at);
    let departed_at = match departed_at {
        Some(at) if at > ctx.now + CLOCK_SKEW => {
            v.push("departed_at", "in_future", "departed_at must not be in the future");
            None
        }
        Some(at) => v.check(DateSpan::events(ctx.now.date_naive()).check_time("departed_at", at)),
        None => None,
    };
    let payout = match &input.payout {
        None => {
            missing(v, "payout");
            None
        }
        Some(payout) => payout_within_approval(v, ctx, payout),
    };
    Some(Departure { departed_at: departed_at?, payout: payout? })
}

fn payout_within_approval(
    v: &mut Validation,
    ctx: &TransitionContext,
    input: &PayoutInput,
) -> Option<Payout> {
    let mut paid = |field: &str, value: Option<i64>, component: &str, label: &str| {
        let amount = amount(v, field, value)?;
        let approved = ctx.approved_amount(component).unwrap_or(0);
        if amount > approved {
            v.push(
                field,
                "exceeds_approval",
                format!("{field}: at most {approved} Rappen of {label} were approved"),
            );
            return None;
        }
        Some(amount)
    };
    let startup_cash = paid(
        "payout.startup_cash_rappen",
        input.startup_cash_rappen,
        STARTUP_CASH,
        "start-up cash",
    );
    let travel_money =
        paid("payout.travel_money_rappen", input.travel_money_rappen, TRAVEL_MONEY, "travel money");
    let receipt_reference = match &input.receipt_reference {
        None => {
            missing(v, "payout.receipt_reference");
            None
        }
        Some(value) => v.check(text("payout.receipt_reference", value, REFERENCE_MAX)),
    };
    Some(Payout {
        startup_cash_rappen: startup_cash?,
        travel_money_rappen: travel_money?,
        receipt_reference: receipt_reference?,
    })
}

/// An active IOM mission in the destination country.
fn start_reintegration(
    v: &mut Validation,
    ctx: &TransitionContext,
    input: &StartReintegration,
) -> Option<Uuid> {
    let field = "mission_id";
    let id = match input.mission_id.as_deref().map(str::trim) {
        None | Some("") => {
            missing(v, field);
            return None;
        }
        Some(value) => match Uuid::parse_str(value) {
            Ok(id) => id,
            Err(_) => {
                v.push(field, "invalid_format", "mission_id must be an institution id (a UUID)");
                return None;
            }
        },
    };
    if !ctx.mission_consent_missing.is_empty() {
        let persons: Vec<String> =
            ctx.mission_consent_missing.iter().map(|i| format!("persons[{i}]")).collect();
        v.push(
            "consents",
            "consent_missing",
            format!(
                "consents: {} must consent to the transfer of their data to the mission \
                 (purpose transfer_to_mission) before the reintegration starts",
                persons.join(", ")
            ),
        );
    }
    let Some(mission) = ctx.mission.as_ref().filter(|mission| mission.id == id) else {
        v.push(field, "not_found", "there is no institution with this mission_id");
        return None;
    };
    if mission.kind != InstitutionKind::IomMission {
        v.push(field, "not_an_iom_mission", "mission_id must name an IOM mission");
        return None;
    }
    if !mission.active {
        v.push(field, "inactive", "the IOM mission is deactivated");
        return None;
    }
    if mission.country.as_deref() != Some(ctx.destination_country.as_str()) {
        v.push(
            field,
            "wrong_country",
            format!(
                "the mission works in {}, the case returns to {}",
                mission.country.as_deref().unwrap_or("no country"),
                ctx.destination_country
            ),
        );
        return None;
    }
    Some(id)
}

/// An outcome, and a comment when the outcome is `other` or when a reintegration closes with
/// loose ends (see [`loose_ends`]).
fn close(v: &mut Validation, ctx: &TransitionContext, input: &Close) -> Option<Closure> {
    let outcome = vocabulary(
        v,
        "outcome",
        &input.outcome,
        ClosureOutcome::parse,
        &ClosureOutcome::ALL.map(ClosureOutcome::as_str),
    );
    let comment = match (&input.comment, loose_ends(ctx)) {
        (None, Some(open)) => {
            v.push("comment", "required", format!("{open}: say why the case closes anyway"));
            None
        }
        (value, _) => comment(v, value, outcome == Some(ClosureOutcome::Other), "outcome"),
    };
    Some(Closure { outcome: outcome?, comment: comment? })
}

/// What a reintegration leaves open when it closes: money of the approved project not
/// disbursed, monitoring visits planned and not done. `None` when nothing is open, or when
/// the case is not in reintegration (a departed case without a project has neither).
fn loose_ends(ctx: &TransitionContext) -> Option<String> {
    if ctx.status != CaseStatus::Reintegration {
        return None;
    }
    let undisbursed = ctx.undisbursed_rappen();
    let money = (undisbursed > 0)
        .then(|| format!("{} of the approved project is not disbursed", Rappen::new(undisbursed)));
    let visits = match ctx.open_visits {
        0 => None,
        1 => Some("1 planned visit is open".to_owned()),
        n => Some(format!("{n} planned visits are open")),
    };
    match (money, visits) {
        (Some(money), Some(visits)) => Some(format!("{money} and {visits}")),
        (money, visits) => money.or(visits),
    }
}

fn cancel(v: &mut Validation, input: &Cancel) -> Option<Cancellation> {
    let reason = vocabulary(
        v,
        "reason",
        &input.reason,
        CancelReason::parse,
        &CancelReason::ALL.map(CancelReason::as_str),
    );
    let comment = comment(v, &input.comment, reason == Some(CancelReason::Other), "reason");
    Some(Cancellation { reason: reason?, comment: comment? })
}

/// An optional `comment`, required when `required` (the value of `explained` is `other`).
fn comment(
    v: &mut Validation,
    value: &Option<String>,
    required: bool,
    explained: &str,
) -> Option<Option<String>> {
    match value {
        None if required => {
            v.push(
                "comment",
                "required",
                format!("comment is required when the {explained} is other"),
            );
            None
        }
        None => Some(None),
        Some(value) => v.check(text("comment", value, TEXT_MAX)).map(Some),
    }
}

fn missing(v: &mut Validation, field: &str) {
    v.push(field, "required", format!("{field} is required"));
}

/// A required, trimmed, non-empty text of at most [`TEXT_MAX`] characters.
fn required_text(v: &mut Validation, field: &str, value: &Option<String>) -> Option<String> {
    match value {
        None => {
            missing(v, field);
            None
        }
        Some(value) => v.check(text(field, value, TEXT_MAX)),
    }
}

/// A required amount of Rappen, from 0 to [`AMOUNT_MAX_RAPPEN`] (CHF 1,000,000, the most a
/// counsellor may request for one component).
fn amount(v: &mut Validation, field: &str, value: Option<i64>) -> Option<i64> {
    match value {
        None => {
            missing(v, field);
            None
        }
        Some(amount) if amount < 0 => {
            v.push(field, "out_of_range", format!("{field} must not be negative"));
            None
        }
        Some(amount) if amount > AMOUNT_MAX_RAPPEN => {
            v.push(
                field,
                "out_of_range",
                format!("{field} must be at most {AMOUNT_MAX_RAPPEN} (CHF 1,000,000)"),
            );
            None
        }
        Some(amount) => Some(amount),
    }
}

/// A required RFC 3339 timestamp in the years 1 to 9999.
fn timestamp(v: &mut Validation, field: &str, value: &Option<String>) -> Option<DateTime<Utc>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => {
            missing(v, field);
            None
        }
        Some(value) => v.check(parse_time(field, value)),
    }
}

/// A required value of a closed vocabulary, written exactly as one of `names`.
fn vocabulary<T>(
    v: &mut Validation,
    field: &str,
    value: &Option<String>,
    parse: fn(&str) -> Option<T>,
    names: &[&str],
) -> Option<T> {
    match value.as_deref().map(str::trim) {
        None | Some("") => {
            missing(v, field);
            None
        }
        Some(value) => {
            let parsed = parse(value);
            if parsed.is_none() {
                v.push(
                    field,
                    "invalid_value",
                    format!("{field} must be one of {}", names.join(", ")),
                );
            }
            parsed
        }
    }
}

/// An IATA flight number: a two-character airline designator (letters or digits, not two
/// digits), an optional space, one to four digits and an optional operational suffix letter.
/// Returned upper-case without the space (`TK1912`, `LX318`, `U21234`).
fn flight_number(value: &str) -> Option<String> {
    let value = value.trim().to_ascii_uppercase();
    if !value.is_ascii() || value.len() < 3 {
        return None;
    }
    let (designator, number) = value.split_at(2);
    let number = number.strip_prefix(' ').unwrap_or(number);
    let designator_ok = designator.chars().all(|c| c.is_ascii_alphanumeric())
        && !designator.chars().all(|c| c.is_ascii_digit());
    let digits = number.chars().take_while(char::is_ascii_digit).count();
    let suffix = &number[digits..];
    let suffix_ok =
        suffix.is_empty() || (suffix.len() == 1 && suffix.chars().all(|c| c.is_ascii_alphabetic()));
    (designator_ok && (1..=4).contains(&digits) && suffix_ok)
        .then(|| format!("{designator}{number}"))
}

#[cfg(test)]
mod tests {
    use super::flight_number;

    #[test]
    fn flight_numbers_follow_the_iata_format() {
        for (input, expected) in [
            ("TK1912", "TK1912"),
            ("tk1912", "TK1912"),
            ("LX 318", "LX318"),
            (" U21234 ", "U21234"),
            ("4U7", "4U7"),
            ("LX318A", "LX318A"),
        ] {
            assert_eq!(flight_number(input).as_deref(), Some(expected), "{input}");
        }
        for input in
            ["", "TK", "12345", "TK12345", "TK-1912", "TKX1912", "TK19A2", "TK1912AB", "ÜX123"]
        {
            assert_eq!(flight_number(input), None, "{input}");
        }
    }
}
