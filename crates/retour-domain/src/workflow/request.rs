//! The body of `POST /v1/cases/{id}/transitions`: one object tagged by `action`, each action
//! with its own fields (architecture.md, "Shapes").
//!
//! Values arrive as plain strings and options and are parsed by the guards, so that a missing
//! or malformed field becomes a [`crate::FieldError`] naming it, and every problem of a request
//! is reported at once.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{
    Discriminator, Object, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use super::{Action, Rule, TABLE};
use crate::CaseStatus;

/// A requested transition of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TransitionRequest {
    Submit,
    StartReview,
    RequestInfo(RequestInfo),
    AnswerInfo(AnswerInfo),
    Approve(Approve),
    Reject(Reject),
    BookTravel(BookTravel),
    ReportNoShow(ReportNoShow),
    ConfirmDeparture(ConfirmDeparture),
    StartReintegration(StartReintegration),
    Close(Close),
    Withdraw(Withdraw),
    Cancel(Cancel),
}

impl TransitionRequest {
    pub fn action(&self) -> Action {
        match self {
            TransitionRequest::Submit => Action::Submit,
            TransitionRequest::StartReview => Action::StartReview,
            TransitionRequest::RequestInfo(_) => Action::RequestInfo,
            TransitionRequest::AnswerInfo(_) => Action::AnswerInfo,
            TransitionRequest::Approve(_) => Action::Approve,
            TransitionRequest::Reject(_) => Action::Reject,
            TransitionRequest::BookTravel(_) => Action::BookTravel,
            TransitionRequest::ReportNoShow(_) => Action::ReportNoShow,
            TransitionRequest::ConfirmDeparture(_) => Action::ConfirmDeparture,
            TransitionRequest::StartReintegration(_) => Action::StartReintegration,
            TransitionRequest::Close(_) => Action::Close,
            TransitionRequest::Withdraw(_) => Action::Withdraw,
            TransitionRequest::Cancel(_) => Action::Cancel,
        }
    }

    /// The institution a `start_reintegration` names, when its id is well-formed: the caller
    /// loads it into [`super::TransitionContext::mission`] before evaluating.
    pub fn mission_id(&self) -> Option<Uuid> {
        match self {
            TransitionRequest::StartReintegration(StartReintegration { mission_id }) => {
                mission_id.as_deref().and_then(|id| Uuid::parse_str(id.trim()).ok())
            }
            _ => None,
        }
    }
}

/// Fields of `request_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInfo {
    /// SEM's question to the counselling service.
    #[schema(value_type = String, required = true)]
    pub question: Option<String>,
}

/// Fields of `answer_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInfo {
    /// The counselling service's answer to SEM's open question.
    #[schema(value_type = String, required = true)]
    pub answer: Option<String>,
}

/// Fields of `approve`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    /// Why SEM grants the assistance.
    #[schema(value_type = String, required = true)]
    pub reasons: Option<String>,
    /// Why an amount above the tariff is granted; null when every amount is within it.
    pub override_justification: Option<String>,
    /// The amount granted per component, each component at most once.
    #[schema(value_type = Vec<ApprovedAmountInput>, required = true, min_items = 1, max_items = 5)]
    pub approved_assistance: Option<Vec<ApprovedAmountInput>>,
}

/// One approved component of an `approve`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovedAmountInput {
    #[schema(value_type = crate::assistance::AssistanceComponent, required = true)]
    pub component: Option<String>,
    /// 0 to 100,000,000 (CHF 1,000,000).
    #[schema(value_type = i64, required = true, minimum = 0, maximum = 100_000_000)]
    pub amount_rappen: Option<i64>,
}

/// Fields of `reject`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reject {
    /// `crime_or_repeated_offences`, `abuse`, `sufficient_assets`, `already_received`,
    /// `visa_exempt_travel_only`, `country_suspended` or `other`.
    #[schema(value_type = super::record::LegalGround, required = true)]
    pub legal_ground: Option<String>,
    #[schema(value_type = String, required = true)]
    pub reasons: Option<String>,
}

/// Fields of `book_travel`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookTravel {
    #[schema(value_type = ItineraryInput, required = true)]
    pub itinerary: Option<ItineraryInput>,
}

/// The journey booked by `book_travel`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItineraryInput {
    /// `ZRH`, `GVA` or `BSL`.
    #[schema(value_type = super::record::DepartureAirport, required = true)]
    pub departure_airport: Option<String>,
    /// Scheduled departure, RFC 3339: at most five years ago (a flight recorded after it
    /// left) or three years ahead.
    #[schema(value_type = chrono::DateTime<chrono::Utc>, required = true)]
    pub departure_at: Option<String>,
    /// IATA flight numbers in travel order (`TK1912`), at least one.
    #[schema(value_type = Vec<String>, required = true, min_items = 1, max_items = 8)]
    pub flights: Option<Vec<String>>,
    /// IATA code of the arrival airport (`EBL`).
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z]{3}$")]
    pub destination_airport: Option<String>,
    /// `none`, `social` or `medical`.
    #[schema(value_type = super::record::Escort, required = true)]
    pub escort: Option<String>,
    /// Travel organised by IOM Bern for a vulnerable person (programme SIM): booked by the
    /// IOM coordinator; otherwise booked by swissREPAT.
    #[schema(value_type = bool, required = true)]
    pub sim: Option<bool>,
}

/// Fields of `report_no_show`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportNoShow {
    /// What happened at the departure.
    #[schema(value_type = String, required = true)]
    pub comment: Option<String>,
}

/// Fields of `confirm_departure`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmDeparture {
    /// The actual departure, RFC 3339: not in the future, at most five years ago.
    #[schema(value_type = chrono::DateTime<chrono::Utc>, required = true)]
    pub departed_at: Option<String>,
    #[schema(value_type = PayoutInput, required = true)]
    pub payout: Option<PayoutInput>,
}

/// Cash paid at the departure; each part at most what SEM approved for its component.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutInput {
    #[schema(value_type = i64, required = true, minimum = 0, maximum = 100_000_000)]
    pub startup_cash_rappen: Option<i64>,
    #[schema(value_type = i64, required = true, minimum = 0, maximum = 100_000_000)]
    pub travel_money_rappen: Option<i64>,
    /// The number of the signed receipt.
    #[schema(value_type = String, required = true, max_length = 100)]
    pub receipt_reference: Option<String>,
}

/// Fields of `start_reintegration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartReintegration {
    /// The IOM mission of the destination country that delivers the reintegration.
    #[schema(value_type = Uuid, required = true)]
    pub mission_id: Option<String>,
}

/// Fields of `close`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Close {
    /// `completed`, `abandoned`, `unreachable` or `other`.
    #[schema(value_type = super::record::ClosureOutcome, required = true)]
    pub outcome: Option<String>,
    /// Required when the outcome is `other`.
    pub comment: Option<String>,
}

/// Fields of `withdraw`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Withdraw {
    /// Why the person no longer wishes to return with assistance.
    #[schema(value_type = String, required = true)]
    pub reason: Option<String>,
}

/// Fields of `cancel`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancel {
    /// `no_show`, `absconded`, `revoked`, `deceased` or `other`.
    #[schema(value_type = super::record::CancelReason, required = true)]
    pub reason: Option<String>,
    /// Required when the reason is `other`.
    pub comment: Option<String>,
}

// utoipa derives a discriminator only for untagged enums of references, so the schema of the
// tagged union is assembled here: one named schema per action (`TransitionApprove`, …), each
// the action's fields plus the required `action` property, and a `oneOf` over them whose
// discriminator is `action`. Code generators turn this into one type per action.

/// The named schema of each action and the schema of its fields.
fn variants() -> [(Action, Option<RefOr<Schema>>); 13] {
    [
        (Action::Submit, None),
        (Action::StartReview, None),
        (Action::RequestInfo, Some(RequestInfo::schema())),
        (Action::AnswerInfo, Some(AnswerInfo::schema())),
        (Action::Approve, Some(Approve::schema())),
        (Action::Reject, Some(Reject::schema())),
        (Action::BookTravel, Some(BookTravel::schema())),
        (Action::ReportNoShow, Some(ReportNoShow::schema())),
        (Action::ConfirmDeparture, Some(ConfirmDeparture::schema())),
        (Action::StartReintegration, Some(StartReintegration::schema())),
        (Action::Close, Some(Close::schema())),
        (Action::Withdraw, Some(Withdraw::schema())),
        (Action::Cancel, Some(Cancel::schema())),
    ]
}

/// `TransitionApprove` for `approve`.
fn schema_name(action: Action) -> String {
    let camel: String = action
        .as_str()
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    format!("Transition{camel}")
}

/// The fields of `action` with the `action` property added in front.
fn variant_schema(action: Action, fields: Option<RefOr<Schema>>) -> RefOr<Schema> {
    let tag: RefOr<Schema> = ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .enum_values(Some([action.as_str()]))
        .into();
    let mut object = match fields {
        Some(RefOr::T(Schema::Object(object))) => object,
        _ => Object::new(),
    };
    object.schema_type = SchemaType::Type(Type::Object);
    object.properties.insert("action".to_owned(), tag);
    object.required.retain(|name| name != "action");
    object.required.insert(0, "action".to_owned());
    object.description = Some(description(action));
    object.title = None;
    RefOr::T(Schema::Object(object))
}

/// Where `action` leads and who takes it, from the table, and what it needs.
fn description(action: Action) -> String {
    let rules: Vec<&Rule> = TABLE.iter().filter(|rule| rule.action == action).collect();
    let mut targets: Vec<CaseStatus> = Vec::new();
    for rule in &rules {
        if !targets.contains(&rule.to) {
            targets.push(rule.to);
        }
    }
    let moves: Vec<String> = targets
        .iter()
        .map(|to| {
            let from: Vec<&str> =
                rules.iter().filter(|r| r.to == *to).map(|r| r.from.as_str()).collect();
            format!("{} → {to}", from.join(" | "))
        })
        .collect();
    let mut roles: Vec<&str> = Vec::new();
    for role in rules.iter().flat_map(|rule| rule.roles) {
        if !roles.contains(&role.as_str()) {
            roles.push(role.as_str());
        }
    }
    let needs = match action {
        Action::Submit => {
            "Needs a complete household (the principal applicant's surname, given names, date \
             of birth, sex, nationality, residence status and ZEMIS number; everyone else's \
             identity), every eligibility question answered, the declaration of voluntariness \
             signed and at least one requested component."
        }
        Action::StartReview => "Makes the caller the case's reviewer.",
        Action::RequestInfo => {
            "SEM's question; the counselling service may edit the case until it answers."
        }
        Action::AnswerInfo => "The counselling service's answer to SEM's question.",
        Action::Approve => {
            "The approved amount per component and the reasons; never edited afterwards."
        }
        Action::Reject => "The legal ground and the reasons; never edited afterwards.",
        Action::BookTravel => {
            "The itinerary. swissREPAT books ordinary travel, the IOM coordinator SIM travel \
             (`sim: true`)."
        }
        Action::ReportNoShow => "The person did not leave; the case is booked again.",
        Action::ConfirmDeparture => {
            "The actual time and the cash paid, each part at most the approved amount of its \
             component."
        }
        Action::StartReintegration => {
            "Only when a reintegration project was approved. Assigns an active IOM mission of \
             the destination country."
        }
        Action::Close => {
            "The outcome. Out of `departed` only when no reintegration project was approved."
        }
        Action::Withdraw => "The person no longer wishes to return with assistance.",
        Action::Cancel => "The reason; `other` needs a comment.",
    };
    format!("`{action}`: {}, by {}. {needs}", moves.join(", "), roles.join(" or "))
}

impl PartialSchema for TransitionRequest {
    fn schema() -> RefOr<Schema> {
        let mut discriminator = Discriminator::new("action");
        let mut one_of = OneOfBuilder::new().description(Some(
            "A transition of the case, tagged by `action`; each action has its own fields.",
        ));
        for action in Action::ALL {
            let name = schema_name(action);
            discriminator
                .mapping
                .insert(action.as_str().to_owned(), format!("#/components/schemas/{name}"));
            one_of = one_of.item(Ref::from_schema_name(name));
        }
        one_of.discriminator(Some(discriminator)).into()
    }
}

impl ToSchema for TransitionRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TransitionRequest")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        for (action, fields) in variants() {
            schemas.push((schema_name(action), variant_schema(action, fields)));
        }
        // What the fields refer to (the nested inputs and the vocabularies).
        RequestInfo::schemas(schemas);
        AnswerInfo::schemas(schemas);
        Approve::schemas(schemas);
        Reject::schemas(schemas);
        BookTravel::schemas(schemas);
        ReportNoShow::schemas(schemas);
        ConfirmDeparture::schemas(schemas);
        StartReintegration::schemas(schemas);
        Close::schemas(schemas);
        Withdraw::schemas(schemas);
        Cancel::schemas(schemas);
    }
}
