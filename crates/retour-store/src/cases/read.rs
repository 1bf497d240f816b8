//! Reading a case within the reader's scope and view: one statement per read, built from the
//! view (see docs/adr/0001), with the access event it is logged by.

use super::*;

/// The columns of [`HeadRow`], for the statements built at run time (those checked at build
/// time name them).
pub(crate) const HEAD_COLUMNS: &str = "c.id, c.reference, c.canton, c.federal_region, \
    c.counselling_service_id, c.counsellor_id, c.status, c.version, c.programme, \
    c.destination_country, c.planned_departure_date, c.submitted_at, c.approved_at, \
    c.reintegration_mission_id, c.reviewer_id, c.decided_at, c.departed_at, c.closed_at, \
    c.created_at, c.updated_at, c.transfer_to_service_id";

/// The order of assistance components in lists, as in the domain.
pub(super) const COMPONENT_ORDER: &str = "array['startup_cash', 'reintegration_project', 'medical', \
    'travel_money', 'travel_costs']";

/// A reclaim of the table aliased `r`, as JSON; the statements that write a reclaim
/// (`workflow.rs`) return the same object.
const RECLAIM_JSON: &str = "json_build_object('id', r.id, 'case_id', r.case_id, \
    'reason', r.reason, 'amount_rappen', r.amount_rappen, 'status', r.status, \
    'comment', r.comment, 'recorded_by', r.recorded_by, 'created_at', r.created_at, \
    'updated_at', r.updated_at)";

/// A disbursement of the table aliased `b`, as JSON; the statement that records one
/// (`workflow.rs`) returns the same object.
const DISBURSEMENT_JSON: &str = "json_build_object('id', b.id, \
    'amount_rappen', b.amount_rappen, 'purpose', b.purpose, 'paid_on', b.paid_on, \
    'recorded_by', b.recorded_by, 'created_at', b.created_at)";

/// A monitoring visit of the table aliased `m`, as JSON; the statement that records one
/// (`workflow.rs`) returns the same object.
const VISIT_JSON: &str = "json_build_object('id', m.id, 'due_on', m.due_on, \
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
        CaseScope::Case(id) => {
            qb.push("c.id = ").push_bind(id);
        }
        CaseScope::Nothing => {
            qb.push("false");
        }
    }
}

pub(super) fn push_gate(qb: &mut QueryBuilder<Postgres>, gate: Option<CaseScope>) {
    match gate {
        Some(scope) => push_scope(qb, scope),
        None => {
            qb.push("true");
        }
    }
}

/// Appends one part of a case, computed only within `gate`, or `null` when the view withholds it.
pub(super) fn part(
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
pub(super) fn detail_query(
    id: Uuid,
    view: &CaseView,
    gate: Option<CaseScope>,
    lock: bool,
) -> QueryBuilder<Postgres> {
    // Built at run time: the parts selected depend on the reader's view (docs/adr/0001).
    let mut qb = QueryBuilder::new("");
    push_detail(&mut qb, id, view, gate, lock);
    qb
}

pub(super) fn push_detail(
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
    // Who the case is being handed to is for every reader; why, for SEM's review.
    let transfer_reason = if view.review { ", 'reason', t.reason" } else { "" };
    let transfer = format!(
        "case when c.transfer_to_service_id is null then 'null'::json else \
         (select json_build_object('id', t.id, 'to_service_id', t.to_service_id, \
             'to_service_name', i.name, 'proposed_by', t.proposed_by, \
             'proposed_at', t.proposed_at{transfer_reason}) \
          from case_transfers t join institutions i on i.id = t.to_service_id \
          where t.case_id = c.id and t.status = 'pending') end"
    );
    part(qb, gate, true, &transfer, "pending_transfer");
    part(
        qb,
        gate,
        view.review,
        "coalesce((select json_build_object('id', p.id, 'case_id', p.case_id, 'kind', p.kind, \
             'transition', p.transition, 'reclaim_id', p.reclaim_id, \
             'justification', p.justification, 'status', p.status, \
             'proposed_by', p.proposed_by, 'proposed_by_name', u.display_name, \
             'proposed_at', p.proposed_at, 'decided_by', p.decided_by, \
             'decided_at', p.decided_at, 'return_reason', p.return_reason) \
         from case_proposals p join users u on u.id = p.proposed_by \
         where p.case_id = c.id and p.status = 'open'), 'null'::json)",
        "pending_proposal",
    );
    // The open deadlines of the kinds whose field group the view holds (the kinds are
    // the domain's fixed names, not input).
    let kinds = DeadlineKind::visible_with(view)
        .iter()
        .map(|k| format!("'{}'", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let deadlines = format!(
        "(select coalesce(json_agg(json_build_object('id', d.id, 'kind', d.kind, \
             'due_on', d.due_on, 'overdue', d.overdue_at is not null, \
             'opened_at', d.opened_at) order by d.due_on, d.opened_at, d.id), '[]'::json) \
         from case_deadlines d where d.case_id = c.id and d.closed_at is null \
             and d.kind in ({kinds}))"
    );
    part(qb, gate, true, &deadlines, "deadlines");
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
    transfer_to_service_id: Option<Uuid>,
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
            transfer_to_service_id: row.transfer_to_service_id,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct DetailRow {
    #[sqlx(flatten)]
    pub(super) head: HeadRow,
    pub(super) in_scope: bool,
    pub(super) persons: Option<Json<Vec<PersonJson>>>,
    pub(super) vulnerabilities: Option<Vec<String>>,
    pub(super) medical: Option<Json<MedicalJson>>,
    pub(super) eligibility: Option<Json<EligibilityJson>>,
    pub(super) requested_assistance: Option<Json<Vec<AssistanceJson>>>,
    pub(super) procedure_phase: Option<Json<Option<String>>>,
    pub(super) decision: Option<Json<Option<DecisionRecord>>>,
    pub(super) review_questions: Option<Json<Vec<ReviewQuestion>>>,
    pub(super) itineraries: Option<Json<Vec<ItineraryRecord>>>,
    pub(super) departure: Option<Json<Option<DepartureRecord>>>,
    pub(super) reintegration: Option<Json<Option<ReintegrationRecord>>>,
    pub(super) ending: Option<Json<EndingRecord>>,
    pub(super) reclaims: Option<Json<Vec<Reclaim>>>,
    pub(super) pending_transfer: Option<Json<Option<PendingTransfer>>>,
    pub(super) pending_proposal: Option<Json<Option<Proposal>>>,
    pub(super) deadlines: Option<Json<Vec<OpenDeadline>>>,
}

#[derive(Deserialize)]
pub(super) struct PersonJson {
    pub(super) id: Uuid,
    pub(super) relationship: String,
    pub(super) surname: String,
    pub(super) given_names: String,
    pub(super) aliases: Vec<String>,
    pub(super) date_of_birth: NaiveDate,
    pub(super) sex: String,
    pub(super) nationality: String,
    pub(super) travelling: bool,
    #[serde(default)]
    pub(super) zemis_number: Option<String>,
    #[serde(default)]
    pub(super) n_number: Option<String>,
    #[serde(default)]
    pub(super) residence_status: Option<String>,
    #[serde(default)]
    pub(super) entry_date: Option<NaiveDate>,
}

#[derive(Deserialize)]
pub(super) struct MedicalJson {
    #[serde(default)]
    pub(super) present: bool,
    #[serde(default)]
    pub(super) summary: Option<String>,
    #[serde(default)]
    pub(super) fit_to_travel: Option<bool>,
    #[serde(default)]
    pub(super) escort: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct EligibilityJson {
    #[serde(default)]
    pub(super) criminal_offences: Option<bool>,
    #[serde(default)]
    pub(super) abuse: Option<bool>,
    #[serde(default)]
    pub(super) sufficient_assets: Option<bool>,
    #[serde(default)]
    pub(super) prior_assistance: Option<bool>,
    #[serde(default)]
    pub(super) voluntariness_signed_on: Option<NaiveDate>,
}

#[derive(Deserialize)]
pub(super) struct AssistanceJson {
    pub(super) component: String,
    pub(super) amount_rappen: i64,
}

pub(super) fn country(value: &str, column: &'static str) -> Result<CountryCode, StoreError> {
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
    pub(super) fn into_case(self) -> Result<StoredCase, StoreError> {
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
            pending_transfer: self.pending_transfer.and_then(|Json(t)| t),
            pending_proposal: self.pending_proposal.map(|Json(p)| p),
            deadlines: self.deadlines.map(|Json(d)| d).unwrap_or_default(),
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

    /// Reads one case as [`read_case`] does and records the reader's `event`: allowed when
    /// the case is within `scope`, denied when it is not or does not exist. The event is
    /// written with those of other requests ([`Store::log`]); the read returns once it is
    /// committed, so no case leaves unlogged.
    pub async fn read_case_logged(
        &self,
        id: Uuid,
        scope: CaseScope,
        view: &CaseView,
        event: &AuditEvent,
    ) -> Result<CaseRead, StoreError> {
        let read = self.read_case(id, scope, view).await?;
        let mut event = event.clone();
        event.outcome = if matches!(read, CaseRead::Visible(_)) {
            audit::Outcome::Allowed
        } else {
            audit::Outcome::Denied
        };
        self.log(&event).await?;
        Ok(read)
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
pub(super) fn case_read(row: Option<DetailRow>) -> Result<CaseRead, StoreError> {
    match row {
        None => Ok(CaseRead::Missing),
        Some(row) if !row.in_scope => Ok(CaseRead::OutOfScope),
        Some(row) => Ok(CaseRead::Visible(Box::new(row.into_case()?))),
    }
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
    // Built at run time: the read depends on the reader's view.
    let mut qb = QueryBuilder::new("with found as (");
    push_detail(&mut qb, id, view, Some(scope), false);
    qb.push("), logged as (");
    audit::push_insert(&mut qb, event);
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

/// `query_as!` of the [`HeadRow`] of case `$id`, with `$lock` (a locking clause, or nothing).
macro_rules! head_of {
    ($id:expr, $lock:literal) => {
        sqlx::query_as!(
            HeadRow,
            "select c.id, c.reference, c.canton, c.federal_region, c.counselling_service_id, \
                 c.counsellor_id, c.status, c.version, c.programme, c.destination_country, \
                 c.planned_departure_date, c.submitted_at, c.approved_at, \
                 c.reintegration_mission_id, c.reviewer_id, c.decided_at, c.departed_at, \
                 c.closed_at, c.created_at, c.updated_at, c.transfer_to_service_id \
             from cases c where c.id = $1"
                + $lock,
            $id,
        )
    };
}

/// The columns of a case every reader may receive, and what the access policy decides on.
pub async fn case_head(conn: &mut PgConnection, id: Uuid) -> Result<Option<CaseHead>, StoreError> {
    let row = head_of!(id, "").fetch_optional(&mut *conn).await?;
    row.map(CaseHead::try_from).transpose()
}

/// Locks a case row for a change (`select … for update`) and returns its head; `None` when
/// there is no such case. Appends (disbursements, visits, reclaims) take this lock so that
/// their checks (the disbursed total) cannot race.
pub async fn lock_case_head(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<CaseHead>, StoreError> {
    let row = head_of!(id, " for update of c").fetch_optional(&mut *conn).await?;
    row.map(CaseHead::try_from).transpose()
}
