//! Cases and their households: reading within the caller's scope and view, writing under
//! optimistic concurrency, references without gaps, duplicate detection and search.
//!
//! Reads select only the parts of a case the reader's [`CaseView`] includes, and only when
//! the case is within the reader's [`CaseScope`]: withheld data never leaves the database.
//! Writes take a `&mut PgConnection` of a transaction the caller opened, so the change, its
//! access-log event and anything else of the same request commit together.

use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::case::ProcedurePhase;
use retour_domain::case::{
    AssistanceComponent, CaseFields, Eligibility, Escort, Medical, NewCase, NewNote,
    NoteVisibility, Programme, RequestedAssistance, VoluntarinessDeclaration, Vulnerability,
    format_reference, reference_prefix,
};
use retour_domain::person::{ResidenceStatus, Sex};
use retour_domain::policy::{CaseFacts, CaseScope, CaseView, MedicalView};
use retour_domain::records::{
    DecisionRecord, DepartureRecord, EndingRecord, ItineraryRecord, Reclaim, ReintegrationRecord,
    ReviewQuestion,
};
use retour_domain::workflow::ApprovedAmount;
use retour_domain::{Canton, CaseStatus, CountryCode, NNumber, Person, Relationship, ZemisNumber};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder, Transaction};
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::{Store, StoreError};

/// The columns of a case that every reader of it may receive, and what the access policy
/// needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseHead {
    pub id: Uuid,
    pub reference: String,
    pub canton: Option<Canton>,
    pub federal_region: Option<String>,
    pub counselling_service_id: Uuid,
    pub counsellor_id: Uuid,
    pub status: CaseStatus,
    pub version: i32,
    pub programme: Programme,
    pub destination_country: CountryCode,
    pub planned_departure_date: Option<NaiveDate>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub reintegration_mission_id: Option<Uuid>,
    /// The SEM officer who took the case for review.
    pub reviewer_id: Option<Uuid>,
    /// When SEM approved or rejected it.
    pub decided_at: Option<DateTime<Utc>>,
    /// When the person left.
    pub departed_at: Option<DateTime<Utc>>,
    /// When the case was closed, withdrawn or cancelled.
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CaseHead {
    /// What the access policy decides on.
    pub fn facts(&self) -> CaseFacts {
        CaseFacts {
            status: self.status,
            counselling_service_id: self.counselling_service_id,
            submitted: self.submitted_at.is_some(),
            approved: self.approved_at.is_some(),
            mission_id: self.reintegration_mission_id,
        }
    }
}

/// A member of a household as stored. Without the asylum-procedure view, its ZEMIS and N
/// numbers, residence status and entry date are `None` because they were not selected.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPerson {
    pub id: Uuid,
    pub person: Person,
}

/// A case as one reader may receive it. `None` parts were withheld by the reader's view
/// and never selected.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCase {
    pub head: CaseHead,
    pub persons: Vec<StoredPerson>,
    pub vulnerabilities: Option<Vec<Vulnerability>>,
    /// `Some(None)`: no medical record. The summary is `None` for a travel-fitness view.
    pub medical: Option<Option<Medical>>,
    pub eligibility: Option<Eligibility>,
    pub voluntariness_declaration: Option<Option<VoluntarinessDeclaration>>,
    pub requested_assistance: Option<Vec<RequestedAssistance>>,
    /// Asylum-procedure data.
    pub procedure_phase: Option<Option<ProcedurePhase>>,
    /// SEM's decision (with its grounds only for the review view).
    pub decision: Option<Option<DecisionRecord>>,
    pub review_questions: Option<Vec<ReviewQuestion>>,
    pub itineraries: Option<Vec<ItineraryRecord>>,
    pub departure: Option<Option<DepartureRecord>>,
    /// `Some(None)`: no mission assigned yet.
    pub reintegration: Option<Option<ReintegrationRecord>>,
    /// How the case ended; shown to everyone who sees the case.
    pub ending: Option<EndingRecord>,
    pub reclaims: Option<Vec<Reclaim>>,
}

impl StoredCase {
    /// What SEM approved, as far as this reader sees it (empty before the approval or when
    /// the view withholds the assistance).
    pub fn approved_assistance(&self) -> Vec<ApprovedAmount> {
        self.decision
            .iter()
            .flatten()
            .flat_map(|d| &d.approved_assistance)
            .map(|a| ApprovedAmount {
                component: a.component.as_str().to_owned(),
                amount_rappen: a.amount_rappen.get(),
            })
            .collect()
    }

    /// The current booking: the newest one without a no-show.
    pub fn current_itinerary(&self) -> Option<&ItineraryRecord> {
        self.itineraries.iter().flatten().rev().find(|i| i.no_show_at.is_none())
    }

    /// The editable fields, when the case was read with the full view.
    pub fn fields(&self) -> Option<CaseFields> {
        Some(CaseFields {
            programme: self.head.programme,
            procedure_phase: self.procedure_phase?,
            destination_country: self.head.destination_country,
            planned_departure_date: self.head.planned_departure_date,
            vulnerabilities: self.vulnerabilities.clone()?,
            medical: self.medical.clone()?,
            eligibility: self.eligibility?,
            voluntariness_declaration: self.voluntariness_declaration?,
            requested_assistance: self.requested_assistance.clone()?,
        })
    }

    pub fn person(&self, id: Uuid) -> Option<&StoredPerson> {
        self.persons.iter().find(|p| p.id == id)
    }
}

/// The result of reading one case for a reader.
#[derive(Debug)]
pub enum CaseRead {
    /// Within the reader's scope, with the parts of their view.
    Visible(Box<StoredCase>),
    /// The case exists outside the reader's scope; nothing of it was selected but the id.
    OutOfScope,
    Missing,
}

pub(crate) const HEAD_COLUMNS: &str = "c.id, c.reference, c.canton, c.federal_region, \
    c.counselling_service_id, c.counsellor_id, c.status, c.version, c.programme, \
    c.destination_country, c.planned_departure_date, c.submitted_at, c.approved_at, \
    c.reintegration_mission_id, c.reviewer_id, c.decided_at, c.departed_at, c.closed_at, \
    c.created_at, c.updated_at";

/// The order of assistance components in lists, as in the domain.
const COMPONENT_ORDER: &str = "array['startup_cash', 'reintegration_project', 'medical', \
    'travel_money', 'travel_costs']";

/// A reclaim of the table aliased `r`, as JSON.
pub(crate) const RECLAIM_JSON: &str = "json_build_object('id', r.id, 'case_id', r.case_id, \
    'reason', r.reason, 'amount_rappen', r.amount_rappen, 'status', r.status, \
    'comment', r.comment, 'recorded_by', r.recorded_by, 'created_at', r.created_at, \
    'updated_at', r.updated_at)";

/// A disbursement of the table aliased `b`, as JSON.
pub(crate) const DISBURSEMENT_JSON: &str = "json_build_object('id', b.id, \
    'amount_rappen', b.amount_rappen, 'purpose', b.purpose, 'paid_on', b.paid_on, \
    'recorded_by', b.recorded_by, 'created_at', b.created_at)";

/// A monitoring visit of the table aliased `m`, as JSON.
pub(crate) const VISIT_JSON: &str = "json_build_object('id', m.id, 'due_on', m.due_on, \
    'done_on', m.done_on, 'outcome', m.outcome, 'sustainability_score', m.sustainability_score, \
    'recorded_by', m.recorded_by, 'created_at', m.created_at)";

/// Appends the SQL condition of `scope` on the table aliased `c`.
pub(crate) fn push_scope(qb: &mut QueryBuilder<Postgres>, scope: CaseScope) {
    match scope {
        CaseScope::OwnService(id) => {
            qb.push("c.counselling_service_id = ").push_bind(id);
        }
        CaseScope::Submitted => {
            qb.push("c.submitted_at is not null");
        }
        CaseScope::Approved => {
            qb.push("c.approved_at is not null");
        }
        CaseScope::AssignedMission(id) => {
            qb.push("c.reintegration_mission_id = ").push_bind(id);
        }
        CaseScope::Nothing => {
            qb.push("false");
        }
    }
}

fn push_gate(qb: &mut QueryBuilder<Postgres>, gate: Option<CaseScope>) {
    match gate {
        Some(scope) => push_scope(qb, scope),
        None => {
            qb.push("true");
        }
    }
}

/// Appends one part of a case, computed only within `gate`, or `null` when the view withholds it.
fn part(
    qb: &mut QueryBuilder<Postgres>,
    gate: Option<CaseScope>,
    allowed: bool,
    sql: &str,
    name: &str,
) {
    if allowed {
        qb.push(", case when coalesce((");
        push_gate(qb, gate);
        qb.push("), false) then ").push(sql).push(" end as ").push(name);
    } else {
        qb.push(", null as ").push(name);
    }
}

/// `select` of a case with its persons and the parts of `view`, each gated by `gate` (the
/// reader's scope, or `true`), in one statement.
fn detail_query(
    id: Uuid,
    view: &CaseView,
    gate: Option<CaseScope>,
    lock: bool,
) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new("");
    push_detail(&mut qb, id, view, gate, lock);
    qb
}

fn push_detail(
    qb: &mut QueryBuilder<Postgres>,
    id: Uuid,
    view: &CaseView,
    gate: Option<CaseScope>,
    lock: bool,
) {
    qb.push("select ").push(HEAD_COLUMNS);
    // A scope condition on a null column is null: not in scope.
    qb.push(", coalesce((");
    push_gate(qb, gate);
    qb.push("), false) as in_scope");
    // Every part below is only computed for a case within the scope.
    let asylum = view.asylum_procedure;
    let persons = format!(
        "(select coalesce(json_agg(json_build_object('id', p.id, 'relationship', p.relationship, \
             'surname', p.surname, 'given_names', p.given_names, 'aliases', p.aliases, \
             'date_of_birth', p.date_of_birth, 'sex', p.sex, 'nationality', p.nationality, \
             'travelling', p.travelling{}) order by p.position), '[]'::json) \
         from case_persons p where p.case_id = c.id)",
        if asylum {
            ", 'zemis_number', p.zemis_number, 'n_number', p.n_number, \
             'residence_status', p.residence_status, 'entry_date', p.entry_date"
        } else {
            ""
        }
    );
    part(qb, gate, true, &persons, "persons");
    part(qb, gate, view.vulnerabilities, "c.vulnerabilities", "vulnerabilities");
    let medical = match view.medical {
        MedicalView::Full => Some(
            "(select json_build_object('present', true, 'summary', m.summary, \
                 'fit_to_travel', m.fit_to_travel, 'escort', m.escort) \
             from case_medical m where m.case_id = c.id)",
        ),
        MedicalView::TravelFitness => Some(
            "(select json_build_object('present', true, 'fit_to_travel', m.fit_to_travel, \
                 'escort', m.escort) \
             from case_medical m where m.case_id = c.id)",
        ),
        MedicalView::None => None,
    };
    part(
        qb,
        gate,
        medical.is_some(),
        &format!("coalesce({}, '{{}}'::json)", medical.unwrap_or("null")),
        "medical",
    );
    part(
        qb,
        gate,
        view.eligibility,
        "coalesce((select row_to_json(e) from (select criminal_offences, abuse, \
             sufficient_assets, prior_assistance, voluntariness_signed_on \
             from case_eligibility where case_id = c.id) e), '{}'::json)",
        "eligibility",
    );
    part(
        qb,
        gate,
        view.assistance,
        "(select coalesce(json_agg(json_build_object('component', a.component, \
             'amount_rappen', a.amount_rappen) order by a.component), '[]'::json) \
         from case_requested_assistance a where a.case_id = c.id)",
        "requested_assistance",
    );
    part(qb, gate, asylum, "coalesce(to_json(c.procedure_phase), 'null'::json)", "procedure_phase");
    let decision_review = if view.review {
        ", 'review', json_build_object('reasons', d.reasons, 'legal_ground', d.legal_ground, \
             'override_justification', d.override_justification, \
             'overridden_components', to_json(d.overridden_components))"
    } else {
        ""
    };
    let decision = format!(
        "coalesce((select json_build_object('decision', d.decision, 'decided_by', d.decided_by, \
             'decided_at', d.decided_at, 'approved_assistance', \
             (select coalesce(json_agg(json_build_object('component', a.component, \
                 'amount_rappen', a.amount_rappen) \
                 order by array_position({COMPONENT_ORDER}, a.component)), '[]'::json) \
              from case_approved_assistance a where a.case_id = d.case_id){decision_review}) \
         from case_decisions d where d.case_id = c.id), 'null'::json)"
    );
    part(qb, gate, view.assistance, &decision, "decision");
    part(
        qb,
        gate,
        view.review,
        "(select coalesce(json_agg(json_build_object('id', q.id, 'question', q.question, \
             'asked_by', q.asked_by, 'asked_at', q.asked_at, 'answer', q.answer, \
             'answered_by', q.answered_by, 'answered_at', q.answered_at) \
             order by q.asked_at, q.id), '[]'::json) \
         from case_review_questions q where q.case_id = c.id)",
        "review_questions",
    );
    part(
        qb,
        gate,
        view.travel,
        "(select coalesce(json_agg(json_build_object('id', t.id, \
             'departure_airport', t.departure_airport, 'departure_at', t.departure_at, \
             'flights', t.flights, 'destination_airport', t.destination_airport, \
             'escort', t.escort, 'sim', t.sim, 'booked_by', t.booked_by, \
             'booked_at', t.booked_at, 'no_show_at', t.no_show_at, \
             'no_show_comment', t.no_show_comment) order by t.booked_at, t.id), '[]'::json) \
         from case_itineraries t where t.case_id = c.id)",
        "itineraries",
    );
    part(
        qb,
        gate,
        view.travel,
        "coalesce((select json_build_object('itinerary_id', x.itinerary_id, \
             'departed_at', x.departed_at, 'payout', json_build_object( \
                 'startup_cash_rappen', x.startup_cash_rappen, \
                 'travel_money_rappen', x.travel_money_rappen, \
                 'receipt_reference', x.receipt_reference), \
             'confirmed_by', x.confirmed_by, 'confirmed_at', x.confirmed_at) \
         from case_departures x where x.case_id = c.id), 'null'::json)",
        "departure",
    );
    let reintegration = format!(
        "coalesce((select json_build_object('mission_id', i.id, 'mission_name', i.name, \
             'project_rappen', coalesce((select a.amount_rappen from case_approved_assistance a \
                 where a.case_id = c.id and a.component = 'reintegration_project'), 0), \
             'disbursed_rappen', (select coalesce(sum(b.amount_rappen), 0)::bigint \
                 from case_disbursements b where b.case_id = c.id), \
             'disbursements', (select coalesce(json_agg({DISBURSEMENT_JSON} \
                 order by b.paid_on, b.created_at, b.id), '[]'::json) \
                 from case_disbursements b where b.case_id = c.id), \
             'monitoring_visits', (select coalesce(json_agg({VISIT_JSON} \
                 order by m.due_on, m.created_at, m.id), '[]'::json) \
                 from case_monitoring_visits m where m.case_id = c.id)) \
         from institutions i where i.id = c.reintegration_mission_id), 'null'::json)"
    );
    part(qb, gate, view.reintegration, &reintegration, "reintegration");
    part(
        qb,
        gate,
        true,
        "(select json_build_object('kind', e.kind, 'reason', e.reason, 'comment', e.comment, \
             'ended_by', e.ended_by, 'ended_at', e.ended_at) \
         from case_endings e where e.case_id = c.id)",
        "ending",
    );
    let reclaims = format!(
        "(select coalesce(json_agg({RECLAIM_JSON} order by r.created_at, r.id), '[]'::json) \
         from case_reclaims r where r.case_id = c.id)"
    );
    part(qb, gate, view.review, &reclaims, "reclaims");
    qb.push(" from cases c where c.id = ").push_bind(id);
    if lock {
        qb.push(" for update of c");
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct HeadRow {
    id: Uuid,
    reference: String,
    canton: Option<String>,
    federal_region: Option<String>,
    counselling_service_id: Uuid,
    counsellor_id: Uuid,
    status: String,
    version: i32,
    programme: String,
    destination_country: String,
    planned_departure_date: Option<NaiveDate>,
    submitted_at: Option<DateTime<Utc>>,
    approved_at: Option<DateTime<Utc>>,
    reintegration_mission_id: Option<Uuid>,
    reviewer_id: Option<Uuid>,
    decided_at: Option<DateTime<Utc>>,
    departed_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<HeadRow> for CaseHead {
    type Error = StoreError;

    fn try_from(row: HeadRow) -> Result<Self, StoreError> {
        Ok(CaseHead {
            canton: row
                .canton
                .map(|c| Canton::parse(&c).ok_or_else(|| StoreError::corrupt("cases.canton", &c)))
                .transpose()?,
            status: CaseStatus::parse(&row.status)
                .ok_or_else(|| StoreError::corrupt("cases.status", &row.status))?,
            programme: Programme::parse(&row.programme)
                .ok_or_else(|| StoreError::corrupt("cases.programme", &row.programme))?,
            destination_country: country(&row.destination_country, "cases.destination_country")?,
            id: row.id,
            reference: row.reference,
            federal_region: row.federal_region,
            counselling_service_id: row.counselling_service_id,
            counsellor_id: row.counsellor_id,
            version: row.version,
            planned_departure_date: row.planned_departure_date,
            submitted_at: row.submitted_at,
            approved_at: row.approved_at,
            reintegration_mission_id: row.reintegration_mission_id,
            reviewer_id: row.reviewer_id,
            decided_at: row.decided_at,
            departed_at: row.departed_at,
            closed_at: row.closed_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DetailRow {
    #[sqlx(flatten)]
    head: HeadRow,
    in_scope: bool,
    persons: Option<Json<Vec<PersonJson>>>,
    vulnerabilities: Option<Vec<String>>,
    medical: Option<Json<MedicalJson>>,
    eligibility: Option<Json<EligibilityJson>>,
    requested_assistance: Option<Json<Vec<AssistanceJson>>>,
    procedure_phase: Option<Json<Option<String>>>,
    decision: Option<Json<Option<DecisionRecord>>>,
    review_questions: Option<Json<Vec<ReviewQuestion>>>,
    itineraries: Option<Json<Vec<ItineraryRecord>>>,
    departure: Option<Json<Option<DepartureRecord>>>,
    reintegration: Option<Json<Option<ReintegrationRecord>>>,
    ending: Option<Json<EndingRecord>>,
    reclaims: Option<Json<Vec<Reclaim>>>,
}

#[derive(Deserialize)]
struct PersonJson {
    id: Uuid,
    relationship: String,
    surname: String,
    given_names: String,
    aliases: Vec<String>,
    date_of_birth: NaiveDate,
    sex: String,
    nationality: String,
    travelling: bool,
    #[serde(default)]
    zemis_number: Option<String>,
    #[serde(default)]
    n_number: Option<String>,
    #[serde(default)]
    residence_status: Option<String>,
    #[serde(default)]
    entry_date: Option<NaiveDate>,
}

#[derive(Deserialize)]
struct MedicalJson {
    #[serde(default)]
    present: bool,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    fit_to_travel: Option<bool>,
    #[serde(default)]
    escort: Option<String>,
}

#[derive(Deserialize)]
struct EligibilityJson {
    #[serde(default)]
    criminal_offences: Option<bool>,
    #[serde(default)]
    abuse: Option<bool>,
    #[serde(default)]
    sufficient_assets: Option<bool>,
    #[serde(default)]
    prior_assistance: Option<bool>,
    #[serde(default)]
    voluntariness_signed_on: Option<NaiveDate>,
}

#[derive(Deserialize)]
struct AssistanceJson {
    component: String,
    amount_rappen: i64,
}

fn country(value: &str, column: &'static str) -> Result<CountryCode, StoreError> {
    CountryCode::parse(value).ok_or_else(|| StoreError::corrupt(column, value))
}

impl TryFrom<PersonJson> for StoredPerson {
    type Error = StoreError;

    fn try_from(p: PersonJson) -> Result<Self, StoreError> {
        let person = Person {
            relationship: Relationship::parse(&p.relationship)
                .ok_or_else(|| StoreError::corrupt("case_persons.relationship", &p.relationship))?,
            sex: Sex::parse(&p.sex)
                .ok_or_else(|| StoreError::corrupt("case_persons.sex", &p.sex))?,
            nationality: country(&p.nationality, "case_persons.nationality")?,
            zemis_number: p
                .zemis_number
                .map(|z| {
                    ZemisNumber::parse(&z)
                        .ok_or_else(|| StoreError::corrupt("case_persons.zemis_number", &z))
                })
                .transpose()?,
            n_number: p
                .n_number
                .map(|n| {
                    NNumber::parse(&n)
                        .ok_or_else(|| StoreError::corrupt("case_persons.n_number", &n))
                })
                .transpose()?,
            residence_status: p
                .residence_status
                .map(|r| {
                    ResidenceStatus::parse(&r)
                        .ok_or_else(|| StoreError::corrupt("case_persons.residence_status", &r))
                })
                .transpose()?,
            surname: p.surname,
            given_names: p.given_names,
            aliases: p.aliases,
            date_of_birth: p.date_of_birth,
            entry_date: p.entry_date,
            travelling: p.travelling,
        };
        Ok(StoredPerson { id: p.id, person })
    }
}

impl DetailRow {
    fn into_case(self) -> Result<StoredCase, StoreError> {
        let persons = self
            .persons
            .map(|Json(persons)| persons)
            .unwrap_or_default()
            .into_iter()
            .map(StoredPerson::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let vulnerabilities = self
            .vulnerabilities
            .map(|list| {
                list.iter()
                    .map(|v| {
                        Vulnerability::parse(v)
                            .ok_or_else(|| StoreError::corrupt("cases.vulnerabilities", v))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let medical = self
            .medical
            .map(|Json(m)| -> Result<Option<Medical>, StoreError> {
                if !m.present {
                    return Ok(None);
                }
                let escort = m
                    .escort
                    .map(|e| {
                        Escort::parse(&e)
                            .ok_or_else(|| StoreError::corrupt("case_medical.escort", &e))
                    })
                    .transpose()?;
                Ok(Some(Medical { summary: m.summary, fit_to_travel: m.fit_to_travel, escort }))
            })
            .transpose()?;
        let (eligibility, voluntariness_declaration) = match self.eligibility {
            Some(Json(e)) => (
                Some(Eligibility {
                    criminal_offences: e.criminal_offences,
                    abuse: e.abuse,
                    sufficient_assets: e.sufficient_assets,
                    prior_assistance: e.prior_assistance,
                }),
                Some(
                    e.voluntariness_signed_on
                        .map(|signed_on| VoluntarinessDeclaration { signed_on }),
                ),
            ),
            None => (None, None),
        };
        let requested_assistance = self
            .requested_assistance
            .map(|Json(list)| {
                list.into_iter()
                    .map(|a| {
                        Ok(RequestedAssistance {
                            component: AssistanceComponent::parse(&a.component).ok_or_else(
                                || {
                                    StoreError::corrupt(
                                        "case_requested_assistance.component",
                                        &a.component,
                                    )
                                },
                            )?,
                            amount_rappen: a.amount_rappen,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()
            })
            .transpose()?;
        let procedure_phase = self
            .procedure_phase
            .map(|Json(phase)| {
                phase
                    .map(|p| {
                        ProcedurePhase::parse(&p)
                            .ok_or_else(|| StoreError::corrupt("cases.procedure_phase", &p))
                    })
                    .transpose()
            })
            .transpose()?;
        Ok(StoredCase {
            head: self.head.try_into()?,
            persons,
            vulnerabilities,
            medical,
            eligibility,
            voluntariness_declaration,
            requested_assistance,
            procedure_phase,
            decision: self.decision.map(|Json(d)| d),
            review_questions: self.review_questions.map(|Json(q)| q),
            itineraries: self.itineraries.map(|Json(i)| i),
            departure: self.departure.map(|Json(d)| d),
            reintegration: self.reintegration.map(|Json(r)| r),
            ending: self.ending.map(|Json(e)| e),
            reclaims: self.reclaims.map(|Json(r)| r),
        })
    }
}

impl Store {
    /// Opens a transaction for a write and its access-log event.
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool().begin().await?)
    }

    /// Reads one case for a reader with `scope` and `view`, in one statement.
    pub async fn read_case(
        &self,
        id: Uuid,
        scope: CaseScope,
        view: &CaseView,
    ) -> Result<CaseRead, StoreError> {
        let mut conn = self.pool().acquire().await?;
        read_case(&mut conn, id, scope, view).await
    }
}

/// Reads one case for a reader with `scope` and `view`, in one statement.
pub async fn read_case(
    conn: &mut PgConnection,
    id: Uuid,
    scope: CaseScope,
    view: &CaseView,
) -> Result<CaseRead, StoreError> {
    let mut qb = detail_query(id, view, Some(scope), false);
    case_read(qb.build_query_as().fetch_optional(&mut *conn).await?)
}

/// What a reader with a scope gets of the row of a detail query.
fn case_read(row: Option<DetailRow>) -> Result<CaseRead, StoreError> {
    match row {
        None => Ok(CaseRead::Missing),
        Some(row) if !row.in_scope => Ok(CaseRead::OutOfScope),
        Some(row) => Ok(CaseRead::Visible(Box::new(row.into_case()?))),
    }
}

/// Reads one case as [`read_case`] does and records the reader's `event` in the same
/// statement, with the outcome decided there: allowed when the case is within `scope`,
/// denied when it is not or does not exist. One round trip for the read and its log entry.
pub async fn read_case_logged(
    conn: &mut PgConnection,
    id: Uuid,
    scope: CaseScope,
    view: &CaseView,
    event: &AuditEvent,
) -> Result<CaseRead, StoreError> {
    read_with_event(
        conn,
        id,
        scope,
        view,
        event,
        Some(
            "(case when coalesce((select in_scope from found), false) \
             then 'allowed' else 'denied' end)",
        ),
    )
    .await
}

/// Reads one case as [`read_case`] does, after a change within the transaction of `conn`,
/// and records the change's `event` (with its own outcome) in the same statement.
pub async fn read_case_recording(
    conn: &mut PgConnection,
    id: Uuid,
    scope: CaseScope,
    view: &CaseView,
    event: &AuditEvent,
) -> Result<CaseRead, StoreError> {
    read_with_event(conn, id, scope, view, event, None).await
}

async fn read_with_event(
    conn: &mut PgConnection,
    id: Uuid,
    scope: CaseScope,
    view: &CaseView,
    event: &AuditEvent,
    outcome: Option<&str>,
) -> Result<CaseRead, StoreError> {
    let mut qb = QueryBuilder::new("with found as (");
    push_detail(&mut qb, id, view, Some(scope), false);
    qb.push("), logged as (");
    audit::push_insert(&mut qb, event, outcome);
    qb.push(") select * from found");
    case_read(qb.build_query_as().fetch_optional(&mut *conn).await?)
}

/// Locks a case for a change and reads all of it; `None` when there is no such case.
pub async fn lock_case(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<StoredCase>, StoreError> {
    let mut qb = detail_query(id, &CaseView::FULL, None, true);
    let row: Option<DetailRow> = qb.build_query_as().fetch_optional(&mut *conn).await?;
    row.map(DetailRow::into_case).transpose()
}

/// The columns of a case every reader may receive, and what the access policy decides on.
pub async fn case_head(conn: &mut PgConnection, id: Uuid) -> Result<Option<CaseHead>, StoreError> {
    let sql = format!("select {HEAD_COLUMNS} from cases c where c.id = $1");
    let row: Option<HeadRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?;
    row.map(CaseHead::try_from).transpose()
}

/// Locks a case row for a change (`select … for update`) and returns its head; `None` when
/// there is no such case. Appends (disbursements, visits, reclaims) take this lock so that
/// their checks (the disbursed total) cannot race.
pub async fn lock_case_head(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<CaseHead>, StoreError> {
    let sql = format!("select {HEAD_COLUMNS} from cases c where c.id = $1 for update of c");
    let row: Option<HeadRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?;
    row.map(CaseHead::try_from).transpose()
}

/// Inserts a new case of `counselling_service_id`, opened by `counsellor_id`, with the next
/// reference of its prefix and the Swiss year. Returns its id and reference.
pub async fn insert_case(
    conn: &mut PgConnection,
    counselling_service_id: Uuid,
    counsellor_id: Uuid,
    new: &NewCase,
) -> Result<(Uuid, String), StoreError> {
    let (canton, federal_region): (Option<String>, Option<String>) = sqlx::query_as(
        "select canton, federal_region from institutions \
         where id = $1 and kind = 'counselling_service'",
    )
    .bind(counselling_service_id)
    .fetch_one(&mut *conn)
    .await?;
    let canton = canton.as_deref().and_then(Canton::parse);
    let prefix = reference_prefix(canton, federal_region.as_deref());
    let (year, number): (i32, i64) = sqlx::query_as(
        "insert into case_reference_counters as r (prefix, year, last_number) \
         values ($1, extract(year from now() at time zone 'Europe/Zurich')::int, 1) \
         on conflict (prefix, year) do update set last_number = r.last_number + 1 \
         returning year, last_number",
    )
    .bind(&prefix)
    .fetch_one(&mut *conn)
    .await?;
    let reference = format_reference(&prefix, year, number);
    let id = Uuid::now_v7();
    let fields = &new.fields;
    sqlx::query(
        "insert into cases (id, reference, canton, federal_region, counselling_service_id, \
             counsellor_id, created_by, programme, destination_country, planned_departure_date, \
             vulnerabilities, procedure_phase) \
         values ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(&reference)
    .bind(canton.map(Canton::code))
    .bind(if canton.is_some() { None } else { federal_region.as_deref() })
    .bind(counselling_service_id)
    .bind(counsellor_id)
    .bind(fields.programme.as_str())
    .bind(fields.destination_country.as_str())
    .bind(fields.planned_departure_date)
    .bind(vulnerability_names(&fields.vulnerabilities))
    .bind(fields.procedure_phase.map(ProcedurePhase::as_str))
    .execute(&mut *conn)
    .await?;
    // The history starts with the opening.
    sqlx::query(
        "insert into case_events (id, case_id, action, from_status, to_status, actor_id, \
             actor_institution_id, actor_role) \
         values ($1, $2, 'open', null, 'counselling', $3, $4, 'counsellor')",
    )
    .bind(Uuid::now_v7())
    .bind(id)
    .bind(counsellor_id)
    .bind(counselling_service_id)
    .execute(&mut *conn)
    .await?;
    for (position, person) in new.persons.iter().enumerate() {
        insert_person_at(conn, id, i32::try_from(position).unwrap_or(i32::MAX), person).await?;
    }
    write_medical(conn, id, fields.medical.as_ref()).await?;
    write_eligibility(conn, id, &fields.eligibility, fields.voluntariness_declaration).await?;
    write_requested_assistance(conn, id, &fields.requested_assistance).await?;
    refresh_search(conn, id).await?;
    Ok((id, reference))
}

fn vulnerability_names(list: &[Vulnerability]) -> Vec<&'static str> {
    list.iter().map(|v| v.as_str()).collect()
}

/// Writes the editable fields named in `changed`, bumping the version from `expected`.
/// [`StoreError::StaleVersion`] when the case has another version by now.
pub async fn update_case_fields(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
    fields: &CaseFields,
    changed: &[&str],
) -> Result<i32, StoreError> {
    let version: Option<i32> = sqlx::query_scalar(
        "update cases set programme = $3, destination_country = $4, \
             planned_departure_date = $5, vulnerabilities = $6, procedure_phase = $7, \
             version = version + 1, updated_at = now() \
         where id = $1 and version = $2 returning version",
    )
    .bind(id)
    .bind(expected_version)
    .bind(fields.programme.as_str())
    .bind(fields.destination_country.as_str())
    .bind(fields.planned_departure_date)
    .bind(vulnerability_names(&fields.vulnerabilities))
    .bind(fields.procedure_phase.map(ProcedurePhase::as_str))
    .fetch_optional(&mut *conn)
    .await?;
    let version = version.ok_or(StoreError::StaleVersion)?;
    if changed.contains(&"medical") {
        write_medical(conn, id, fields.medical.as_ref()).await?;
    }
    if changed.contains(&"eligibility") || changed.contains(&"voluntariness_declaration") {
        write_eligibility(conn, id, &fields.eligibility, fields.voluntariness_declaration).await?;
    }
    if changed.contains(&"requested_assistance") {
        write_requested_assistance(conn, id, &fields.requested_assistance).await?;
    }
    Ok(version)
}

/// Bumps the version of a case whose household changed; [`StoreError::StaleVersion`] when
/// it is no longer `expected_version`.
pub async fn bump_version(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
) -> Result<i32, StoreError> {
    let version: Option<i32> = sqlx::query_scalar(
        "update cases set version = version + 1, updated_at = now() \
         where id = $1 and version = $2 returning version",
    )
    .bind(id)
    .bind(expected_version)
    .fetch_optional(&mut *conn)
    .await?;
    version.ok_or(StoreError::StaleVersion)
}

async fn write_medical(
    conn: &mut PgConnection,
    id: Uuid,
    medical: Option<&Medical>,
) -> Result<(), StoreError> {
    match medical {
        None => {
            sqlx::query("delete from case_medical where case_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        Some(m) => {
            sqlx::query(
                "insert into case_medical (case_id, summary, fit_to_travel, escort) \
                 values ($1, $2, $3, $4) \
                 on conflict (case_id) do update set summary = excluded.summary, \
                     fit_to_travel = excluded.fit_to_travel, escort = excluded.escort, \
                     updated_at = now()",
            )
            .bind(id)
            .bind(&m.summary)
            .bind(m.fit_to_travel)
            .bind(m.escort.map(Escort::as_str))
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

async fn write_eligibility(
    conn: &mut PgConnection,
    id: Uuid,
    eligibility: &Eligibility,
    declaration: Option<VoluntarinessDeclaration>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into case_eligibility (case_id, criminal_offences, abuse, sufficient_assets, \
             prior_assistance, voluntariness_signed_on) \
         values ($1, $2, $3, $4, $5, $6) \
         on conflict (case_id) do update set criminal_offences = excluded.criminal_offences, \
             abuse = excluded.abuse, sufficient_assets = excluded.sufficient_assets, \
             prior_assistance = excluded.prior_assistance, \
             voluntariness_signed_on = excluded.voluntariness_signed_on, updated_at = now()",
    )
    .bind(id)
    .bind(eligibility.criminal_offences)
    .bind(eligibility.abuse)
    .bind(eligibility.sufficient_assets)
    .bind(eligibility.prior_assistance)
    .bind(declaration.map(|d| d.signed_on))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_requested_assistance(
    conn: &mut PgConnection,
    id: Uuid,
    requested: &[RequestedAssistance],
) -> Result<(), StoreError> {
    sqlx::query("delete from case_requested_assistance where case_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if requested.is_empty() {
        return Ok(());
    }
    let components: Vec<&str> = requested.iter().map(|r| r.component.as_str()).collect();
    let amounts: Vec<i64> = requested.iter().map(|r| r.amount_rappen).collect();
    sqlx::query(
        "insert into case_requested_assistance (case_id, component, amount_rappen) \
         select $1, component, amount from unnest($2::text[], $3::bigint[]) as x(component, amount)",
    )
    .bind(id)
    .bind(components)
    .bind(amounts)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_person_at(
    conn: &mut PgConnection,
    case_id: Uuid,
    position: i32,
    person: &Person,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    let query = sqlx::query(
        "insert into case_persons (id, case_id, position, relationship, surname, given_names, \
             aliases, date_of_birth, sex, nationality, zemis_number, n_number, residence_status, \
             entry_date, travelling) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(id)
    .bind(case_id)
    .bind(position);
    bind_person(query, person).execute(&mut *conn).await?;
    Ok(id)
}

/// Binds a person's columns in the order both the insert and the update name them:
/// relationship, surname, given_names, aliases, date_of_birth, sex, nationality,
/// zemis_number, n_number, residence_status, entry_date, travelling.
fn bind_person<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    person: &'q Person,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(person.relationship.as_str())
        .bind(&person.surname)
        .bind(&person.given_names)
        .bind(&person.aliases)
        .bind(person.date_of_birth)
        .bind(person.sex.as_str())
        .bind(person.nationality.as_str())
        .bind(person.zemis_number.as_ref().map(ZemisNumber::as_str))
        .bind(person.n_number.as_ref().map(NNumber::as_str))
        .bind(person.residence_status.map(ResidenceStatus::as_str))
        .bind(person.entry_date)
        .bind(person.travelling)
}

/// Adds a person at the end of the household; returns the person's id.
pub async fn insert_person(
    conn: &mut PgConnection,
    case_id: Uuid,
    person: &Person,
) -> Result<Uuid, StoreError> {
    let position: i32 = sqlx::query_scalar(
        "select coalesce(max(position) + 1, 0) from case_persons where case_id = $1",
    )
    .bind(case_id)
    .fetch_one(&mut *conn)
    .await?;
    let id = insert_person_at(conn, case_id, position, person).await?;
    refresh_search(conn, case_id).await?;
    Ok(id)
}

/// Replaces a person's data.
pub async fn update_person(
    conn: &mut PgConnection,
    case_id: Uuid,
    person_id: Uuid,
    person: &Person,
) -> Result<(), StoreError> {
    let query = sqlx::query(
        "update case_persons set relationship = $3, surname = $4, given_names = $5, \
             aliases = $6, date_of_birth = $7, sex = $8, nationality = $9, zemis_number = $10, \
             n_number = $11, residence_status = $12, entry_date = $13, travelling = $14, \
             updated_at = now() \
         where id = $1 and case_id = $2",
    )
    .bind(person_id)
    .bind(case_id);
    let updated = bind_person(query, person).execute(&mut *conn).await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    refresh_search(conn, case_id).await
}

/// Removes a person from the household.
pub async fn delete_person(
    conn: &mut PgConnection,
    case_id: Uuid,
    person_id: Uuid,
) -> Result<(), StoreError> {
    let deleted = sqlx::query("delete from case_persons where id = $1 and case_id = $2")
        .bind(person_id)
        .bind(case_id)
        .execute(&mut *conn)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    refresh_search(conn, case_id).await
}

async fn refresh_search(conn: &mut PgConnection, case_id: Uuid) -> Result<(), StoreError> {
    sqlx::query("select refresh_case_search($1)").bind(case_id).execute(&mut *conn).await?;
    Ok(())
}

/// An open case that already holds a ZEMIS number.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingCase {
    pub id: Uuid,
    pub reference: String,
    pub facts: CaseFacts,
    pub zemis_number: ZemisNumber,
}

#[derive(sqlx::FromRow)]
struct ExistingRow {
    id: Uuid,
    reference: String,
    status: String,
    counselling_service_id: Uuid,
    submitted: bool,
    approved: bool,
    reintegration_mission_id: Option<Uuid>,
    zemis_number: String,
}

/// Finds an open case (not rejected, closed, withdrawn or cancelled) other than `except`
/// whose household holds one of `numbers`. Concurrent writers holding the same numbers wait
/// for each other (a transaction-scoped advisory lock per number), so two cases for one
/// person cannot be opened at the same moment.
pub async fn open_case_with_zemis(
    conn: &mut PgConnection,
    numbers: &[&ZemisNumber],
    except: Option<Uuid>,
) -> Result<Option<ExistingCase>, StoreError> {
    if numbers.is_empty() {
        return Ok(None);
    }
    let mut sorted: Vec<&str> = numbers.iter().map(|z| z.as_str()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sqlx::query(
        "select pg_advisory_xact_lock(hashtextextended('retour.zemis.' || z, 0)) \
         from unnest($1::text[]) with ordinality as x(z, n) order by n",
    )
    .bind(&sorted)
    .execute(&mut *conn)
    .await?;
    let closed: Vec<&str> =
        CaseStatus::ALL.into_iter().filter(|s| s.is_terminal()).map(CaseStatus::as_str).collect();
    let row: Option<ExistingRow> = sqlx::query_as(
        "select c.id, c.reference, c.status, c.counselling_service_id, \
             c.submitted_at is not null as submitted, c.approved_at is not null as approved, \
             c.reintegration_mission_id, p.zemis_number \
         from case_persons p join cases c on c.id = p.case_id \
         where p.zemis_number = any($1) and c.status <> all($2) \
           and c.id is distinct from $3 \
         order by c.created_at limit 1",
    )
    .bind(&sorted)
    .bind(&closed)
    .bind(except)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(ExistingCase {
            facts: CaseFacts {
                status: CaseStatus::parse(&r.status)
                    .ok_or_else(|| StoreError::corrupt("cases.status", &r.status))?,
                counselling_service_id: r.counselling_service_id,
                submitted: r.submitted,
                approved: r.approved,
                mission_id: r.reintegration_mission_id,
            },
            zemis_number: ZemisNumber::parse(&r.zemis_number)
                .ok_or_else(|| StoreError::corrupt("case_persons.zemis_number", &r.zemis_number))?,
            id: r.id,
            reference: r.reference,
        })
    })
    .transpose()
}

/// What an `Idempotency-Key` already stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new (or its 24 hours are over): this request proceeds and records its result.
    Claimed,
    /// A request with this key completed within 24 hours.
    Completed { request_hash: Vec<u8>, status: Option<i16>, resource_id: Option<Uuid> },
}

/// Claims `key` for `actor_id`'s request whose body hashes to `request_hash`. A concurrent
/// request with the same key waits here until the first one commits or rolls back.
pub async fn claim_idempotency_key(
    conn: &mut PgConnection,
    actor_id: Uuid,
    key: &str,
    request_hash: &[u8],
) -> Result<IdempotencyClaim, StoreError> {
    let claimed: Option<bool> = sqlx::query_scalar(
        "insert into idempotency_keys as k (actor_id, key, request_hash) values ($1, $2, $3) \
         on conflict (actor_id, key) do update set request_hash = excluded.request_hash, \
             response_status = null, resource_id = null, created_at = now() \
         where k.created_at < now() - interval '24 hours' \
         returning true",
    )
    .bind(actor_id)
    .bind(key)
    .bind(request_hash)
    .fetch_optional(&mut *conn)
    .await?;
    if claimed.is_some() {
        return Ok(IdempotencyClaim::Claimed);
    }
    let (request_hash, status, resource_id): (Vec<u8>, Option<i16>, Option<Uuid>) = sqlx::query_as(
        "select request_hash, response_status, resource_id from idempotency_keys \
             where actor_id = $1 and key = $2",
    )
    .bind(actor_id)
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    Ok(IdempotencyClaim::Completed { request_hash, status, resource_id })
}

/// Records the outcome of the request that claimed `key`.
pub async fn complete_idempotency_key(
    conn: &mut PgConnection,
    actor_id: Uuid,
    key: &str,
    status: u16,
    resource_id: Uuid,
) -> Result<(), StoreError> {
    sqlx::query(
        "update idempotency_keys set response_status = $3, resource_id = $4 \
         where actor_id = $1 and key = $2",
    )
    .bind(actor_id)
    .bind(key)
    .bind(i16::try_from(status).unwrap_or(i16::MAX))
    .bind(resource_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A note on a case.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StoredNote {
    pub id: Uuid,
    pub case_id: Uuid,
    pub author_id: Uuid,
    pub author_name: String,
    pub institution_id: Uuid,
    pub institution_name: String,
    #[serde(deserialize_with = "visibility")]
    pub visibility: NoteVisibility,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

fn visibility<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NoteVisibility, D::Error> {
    let text = String::deserialize(d)?;
    NoteVisibility::parse(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown visibility {text:?}")))
}

const NOTE_JSON: &str = "json_build_object('id', n.id, 'case_id', n.case_id, \
    'author_id', n.author_id, 'author_name', u.display_name, 'institution_id', n.institution_id, \
    'institution_name', i.name, 'visibility', n.visibility, 'body', n.body, \
    'created_at', n.created_at)";

/// Appends a note by `author_id` of `institution_id`.
pub async fn insert_note(
    conn: &mut PgConnection,
    case_id: Uuid,
    author_id: Uuid,
    institution_id: Uuid,
    note: &NewNote,
) -> Result<StoredNote, StoreError> {
    let sql = format!(
        "with n as (insert into case_notes (id, case_id, author_id, institution_id, visibility, body) \
             values ($1, $2, $3, $4, $5, $6) returning *) \
         select {NOTE_JSON} from n join users u on u.id = n.author_id \
             join institutions i on i.id = n.institution_id"
    );
    let Json(note): Json<StoredNote> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(Uuid::now_v7())
        .bind(case_id)
        .bind(author_id)
        .bind(institution_id)
        .bind(note.visibility.as_str())
        .bind(&note.body)
        .fetch_one(&mut *conn)
        .await?;
    Ok(note)
}

/// The notes of a case that a reader of `institution_id` may see (shared ones and their
/// institution's own), oldest first, selected only when the case is within `scope`.
#[derive(Debug)]
pub enum NotesRead {
    Visible { head: Box<CaseHead>, notes: Vec<StoredNote> },
    OutOfScope,
    Missing,
}

#[derive(sqlx::FromRow)]
struct NotesRow {
    #[sqlx(flatten)]
    head: HeadRow,
    in_scope: bool,
    notes: Option<Json<Vec<StoredNote>>>,
}

impl Store {
    pub async fn read_case_notes(
        &self,
        id: Uuid,
        scope: CaseScope,
        institution_id: Uuid,
    ) -> Result<NotesRead, StoreError> {
        let mut qb = QueryBuilder::new("select ");
        qb.push(HEAD_COLUMNS).push(", coalesce((");
        push_scope(&mut qb, scope);
        qb.push("), false) as in_scope, case when coalesce((");
        push_scope(&mut qb, scope);
        qb.push("), false) then (select coalesce(json_agg(")
            .push(NOTE_JSON)
            .push(
                " order by n.created_at, n.id), '[]'::json) from case_notes n \
                 join users u on u.id = n.author_id join institutions i on i.id = n.institution_id \
                 where n.case_id = c.id and (n.visibility = 'shared' or n.institution_id = ",
            )
            .push_bind(institution_id)
            .push(")) end as notes from cases c where c.id = ")
            .push_bind(id);
        let row: Option<NotesRow> = qb.build_query_as().fetch_optional(self.pool()).await?;
        match row {
            None => Ok(NotesRead::Missing),
            Some(row) if !row.in_scope => Ok(NotesRead::OutOfScope),
            Some(row) => Ok(NotesRead::Visible {
                head: Box::new(row.head.try_into()?),
                notes: row.notes.map(|Json(n)| n).unwrap_or_default(),
            }),
        }
    }
}

pub use retour_domain::case::CaseSort;

/// Filters of a case list; all given ones apply.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub statuses: Vec<CaseStatus>,
    pub canton: Option<Canton>,
    pub counselling_service_id: Option<Uuid>,
    pub destination_country: Option<CountryCode>,
    pub programme: Option<Programme>,
    pub counsellor_id: Option<Uuid>,
    /// Inclusive lower and exclusive upper bounds.
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub updated_from: Option<DateTime<Utc>>,
    pub updated_to: Option<DateTime<Utc>>,
    /// Free text: each word must occur in a person's names or aliases or the reference
    /// (and, where `search_ids`, a ZEMIS or N number), without regard to case or accents.
    pub q: Option<String>,
    /// Whether `q` may match ZEMIS and N numbers: only for readers who may see them.
    pub search_ids: bool,
    pub sort: CaseSort,
    /// Continue after this (sort value, id).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: u32,
}

/// A case in a list.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CaseListRow {
    pub id: Uuid,
    pub reference: String,
    pub status: String,
    pub canton: Option<String>,
    pub counselling_service_id: Uuid,
    pub programme: String,
    pub destination_country: String,
    pub principal_surname: Option<String>,
    pub principal_given_names: Option<String>,
    pub persons_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The words of a free-text query, as patterns for `like`: a whole N number becomes its
/// compact indexed form (`n123456`); `%`, `_` and `\` match themselves.
pub fn search_patterns(q: &str) -> Vec<String> {
    let words: Vec<String> = match NNumber::parse(q) {
        Some(n) => vec![n.compact()],
        None => q.split_whitespace().map(str::to_owned).collect(),
    };
    words
        .into_iter()
        .map(|w| {
            let escaped = w.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        })
        .collect()
}

/// How many of the newest cases in scope a one-word search first looks through for a page of
/// matches. A word as common as a frequent surname fills a page within them, found by walking
/// the scope's index in order (index-only, some 10 ms at most); a rarer one does not, and the
/// search then asks the trigram index for every match and sorts those (cheap when they are
/// few, hundreds of milliseconds for tens of thousands).
const SEARCH_WINDOW: i64 = 20_000;

/// Whether a `like` pattern from [`search_patterns`] can match `search_ids`, which holds only
/// ZEMIS numbers (digits) and compact N numbers (`n` and digits): not when the word has a
/// letter other than `n` (folding keeps ASCII letters letters).
fn may_match_ids(pattern: &str) -> bool {
    !pattern.bytes().any(|b| b.is_ascii_alphabetic() && !b.eq_ignore_ascii_case(&b'n'))
}

/// How a page of a list is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// No search words: the first rows of the scope's ordered index.
    Plain,
    /// The words checked on this many newest rows of the scope, walked in order.
    Window(i64),
    /// Every row the words match, through the trigram indexes, then sorted.
    AllMatches,
}

impl Store {
    /// One page of the cases within `scope` that match `filter`, newest first; one more row
    /// than `filter.limit` when there is a further page.
    pub async fn list_cases(
        &self,
        scope: CaseScope,
        filter: &CaseFilter,
    ) -> Result<Vec<CaseListRow>, StoreError> {
        let patterns = filter.q.as_deref().map(search_patterns).unwrap_or_default();
        if patterns.is_empty() {
            return self.list_page(scope, filter, &patterns, Pass::Plain).await;
        }
        // A single word without digits may be a name shared by thousands of households;
        // several words, a reference or a number pick out few, which the trigram indexes
        // find at once.
        let broad = matches!(&patterns[..], [word] if !word.bytes().any(|b| b.is_ascii_digit()));
        if broad {
            let rows =
                self.list_page(scope, filter, &patterns, Pass::Window(SEARCH_WINDOW)).await?;
            // A full page (and one more) among the newest cases is the page: every case
            // before the last one found was looked at, in order.
            if rows.len() > filter.limit as usize {
                return Ok(rows);
            }
        }
        self.list_page(scope, filter, &patterns, Pass::AllMatches).await
    }

    /// One page: the ids first (from the scope's ordered index, which carries the search
    /// columns, or from the trigram indexes), then their rows.
    async fn list_page(
        &self,
        scope: CaseScope,
        filter: &CaseFilter,
        patterns: &[String],
        pass: Pass,
    ) -> Result<Vec<CaseListRow>, StoreError> {
        let sort = filter.sort.as_str();
        let fetch = i64::from(filter.limit) + 1;
        let mut qb = QueryBuilder::new("");
        if pass == Pass::AllMatches {
            // Materialised: all the matches, whatever the planner would guess of their
            // number, and only then the order (walking the ordered index instead, hoping for
            // an early page, is the window's job).
            qb.push("with matches as materialized (select c.id, c.")
                .push(sort)
                .push(" as at from cases c where ");
            push_conditions(&mut qb, scope, filter);
            push_search(&mut qb, "c", patterns, filter.search_ids);
            qb.push(") ");
        }
        qb.push(
            "select c.id, c.reference, c.status, c.canton, c.counselling_service_id, \
                 c.programme, c.destination_country, p.surname as principal_surname, \
                 p.given_names as principal_given_names, \
                 (select count(*) from case_persons x where x.case_id = c.id) as persons_count, \
                 c.created_at, c.updated_at \
             from (",
        );
        match pass {
            Pass::Plain => {
                qb.push("select c.id from cases c where ");
                push_conditions(&mut qb, scope, filter);
                qb.push(" order by c.").push(sort).push(" desc, c.id desc limit ").push_bind(fetch);
            }
            Pass::Window(window) => {
                qb.push("select w.id from (select c.id, c.")
                    .push(sort)
                    .push(" as at, c.search_text, c.search_ids from cases c where ");
                push_conditions(&mut qb, scope, filter);
                qb.push(" order by c.")
                    .push(sort)
                    .push(" desc, c.id desc limit ")
                    .push_bind(window)
                    .push(") w where true");
                push_search(&mut qb, "w", patterns, filter.search_ids);
                qb.push(" order by w.at desc, w.id desc limit ").push_bind(fetch);
            }
            Pass::AllMatches => {
                qb.push("select id from matches order by at desc, id desc limit ").push_bind(fetch);
            }
        }
        qb.push(
            ") page join cases c on c.id = page.id \
             left join case_persons p on p.case_id = c.id and p.relationship = 'principal' \
             order by c.",
        )
        .push(sort)
        .push(" desc, c.id desc");
        Ok(qb.build_query_as().fetch_all(self.pool()).await?)
    }
}

/// The scope, the filters (but the words) and the cursor of a list, on `cases c`.
fn push_conditions(qb: &mut QueryBuilder<Postgres>, scope: CaseScope, filter: &CaseFilter) {
    qb.push("(");
    push_scope(qb, scope);
    qb.push(")");
    if !filter.statuses.is_empty() {
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        qb.push(" and c.status = any(").push_bind(statuses).push(")");
    }
    if let Some(canton) = filter.canton {
        qb.push(" and c.canton = ").push_bind(canton.code());
    }
    if let Some(id) = filter.counselling_service_id {
        qb.push(" and c.counselling_service_id = ").push_bind(id);
    }
    if let Some(country) = filter.destination_country {
        qb.push(" and c.destination_country = ").push_bind(country.as_str());
    }
    if let Some(programme) = filter.programme {
        qb.push(" and c.programme = ").push_bind(programme.as_str());
    }
    if let Some(id) = filter.counsellor_id {
        qb.push(" and c.counsellor_id = ").push_bind(id);
    }
    for (column, op, value) in [
        ("created_at", ">=", filter.created_from),
        ("created_at", "<", filter.created_to),
        ("updated_at", ">=", filter.updated_from),
        ("updated_at", "<", filter.updated_to),
    ] {
        if let Some(value) = value {
            qb.push(" and c.").push(column).push(" ").push(op).push(" ").push_bind(value);
        }
    }
    if let Some((at, id)) = filter.after {
        let sort = filter.sort.as_str();
        qb.push(" and (c.")
            .push(sort)
            .push(", c.id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
}

/// Each word must occur in the household's names or the reference (or, for readers who may
/// see them, in its ZEMIS or N numbers); `table` is the alias holding the search columns.
fn push_search(
    qb: &mut QueryBuilder<Postgres>,
    table: &str,
    patterns: &[String],
    search_ids: bool,
) {
    for pattern in patterns {
        qb.push(" and (")
            .push(table)
            .push(".search_text like retour_fold(")
            .push_bind(pattern.clone())
            .push(")");
        if search_ids && may_match_ids(pattern) {
            qb.push(" or ")
                .push(table)
                .push(".search_ids like retour_fold(")
                .push_bind(pattern.clone())
                .push(")");
        }
        qb.push(")");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_escape_wildcards_and_compact_n_numbers() {
        assert_eq!(search_patterns("Müller  Karim"), ["%Müller%", "%Karim%"]);
        assert_eq!(search_patterns("N 123 456"), ["%n123456%"]);
        assert_eq!(search_patterns("50%_a\\"), ["%50\\%\\_a\\\\%"]);
        assert!(search_patterns("   ").is_empty());
    }

    #[test]
    fn only_words_of_digits_and_n_can_match_identity_numbers() {
        for pattern in search_patterns("12345678 n123456 N12 n 4.5") {
            assert!(may_match_ids(&pattern), "{pattern}");
        }
        for pattern in search_patterns("hassan Müller x1 BE-2026") {
            assert!(!may_match_ids(&pattern), "{pattern}");
        }
    }
}
