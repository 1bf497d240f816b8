//! Cases written directly with SQL, in any status and with any history: households,
//! submission, SEM's decision and approved amounts, booking, departure and payout, the
//! assigned mission. For tests that need a known set of cases without walking each through
//! the workflow's endpoints.

use sqlx::PgPool;
use uuid::Uuid;

/// A member of the household.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    pub relationship: &'static str,
    pub date_of_birth: &'static str,
    pub residence_status: Option<&'static str>,
    pub travelling: bool,
}

/// A travelling member.
pub fn member(relationship: &'static str, date_of_birth: &'static str) -> Member {
    Member { relationship, date_of_birth, residence_status: None, travelling: true }
}

/// The principal applicant, with their residence status.
pub fn principal(date_of_birth: &'static str, residence_status: &'static str) -> Member {
    Member { residence_status: Some(residence_status), ..member("principal", date_of_birth) }
}

/// A case as it should be stored. Times are RFC 3339.
#[derive(Debug, Clone)]
pub struct CaseSpec {
    /// The canton's counselling service, or `None` for the federal asylum centre of the
    /// region Bern.
    pub canton: Option<&'static str>,
    pub programme: &'static str,
    pub destination: &'static str,
    pub status: &'static str,
    pub opened: &'static str,
    pub submitted: Option<&'static str>,
    /// SEM's decision: time and `approved` | `rejected`.
    pub decided: Option<(&'static str, &'static str)>,
    pub departed: Option<&'static str>,
    /// Paid at the departure: start-up cash and travel money, in Rappen.
    pub payout: (i64, i64),
    /// Approved reintegration project, in Rappen.
    pub reintegration: Option<i64>,
    /// The IOM mission assigned (its name).
    pub mission: Option<&'static str>,
    pub persons: Vec<Member>,
}

impl CaseSpec {
    /// A case in counselling at the canton's service, opened at `opened`.
    pub fn new(
        canton: Option<&'static str>,
        destination: &'static str,
        status: &'static str,
        opened: &'static str,
    ) -> Self {
        CaseSpec {
            canton,
            programme: if canton.is_some() { "cantonal" } else { "federal_centre" },
            destination,
            status,
            opened,
            submitted: None,
            decided: None,
            departed: None,
            payout: (0, 0),
            reintegration: None,
            mission: None,
            persons: Vec::new(),
        }
    }
}

async fn id_of(pool: &PgPool, sql: &'static str, key: &str) -> Uuid {
    let (id,): (Uuid,) = sqlx::query_as(sql)
        .bind(key)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{key}: {e}"));
    id
}

async fn user(pool: &PgPool, email: &str) -> Uuid {
    id_of(pool, "select id from users where email = $1", email).await
}

/// The id of the demo institution named `name`.
pub async fn institution(pool: &PgPool, name: &str) -> Uuid {
    id_of(pool, "select id from institutions where name = $1", name).await
}

/// Writes `spec` as a case with its household and records; returns its id.
pub async fn insert_case(pool: &PgPool, spec: &CaseSpec) -> Uuid {
    let id = Uuid::now_v7();
    let (service, counsellor) = match spec.canton {
        Some("BE") => (
            institution(pool, "Rückkehrberatung Kanton Bern").await,
            user(pool, "counsellor.be@demo.test").await,
        ),
        Some("ZH") => (
            institution(pool, "Rückkehrberatung Kanton Zürich").await,
            user(pool, "counsellor.zh@demo.test").await,
        ),
        Some(other) => panic!("no demo counsellor in {other}"),
        None => (
            institution(pool, "IOM Rückkehrberatung BAZ Region Bern").await,
            user(pool, "counsellor.be@demo.test").await,
        ),
    };
    let sem = user(pool, "sem@demo.test").await;
    let repat = user(pool, "swissrepat@demo.test").await;
    let mission = match spec.mission {
        Some(name) => Some(institution(pool, name).await),
        None => None,
    };
    let approved = spec.decided.filter(|(_, d)| *d == "approved").map(|(at, _)| at);
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query(
        "insert into cases (id, reference, canton, federal_region, counselling_service_id, \
             counsellor_id, created_by, programme, destination_country, status, submitted_at, \
             approved_at, decided_at, departed_at, reintegration_mission_id, created_at, \
             updated_at) \
         values ($1, $2, $3, case when $3::text is null then 'Bern' end, $4, $5, $5, $6, $7, $8, \
             $9::timestamptz, $10::timestamptz, $11::timestamptz, $12::timestamptz, $13, \
             $14::timestamptz, $14::timestamptz)",
    )
    .bind(id)
    .bind(format!("T-{id}"))
    .bind(spec.canton)
    .bind(service)
    .bind(counsellor)
    .bind(spec.programme)
    .bind(spec.destination)
    .bind(spec.status)
    .bind(spec.submitted)
    .bind(approved)
    .bind(spec.decided.map(|(at, _)| at))
    .bind(spec.departed)
    .bind(mission)
    .bind(spec.opened)
    .execute(&mut *tx)
    .await
    .expect("case");
    for (position, m) in spec.persons.iter().enumerate() {
        sqlx::query(
            "insert into case_persons (id, case_id, position, relationship, surname, \
                 given_names, date_of_birth, sex, nationality, residence_status, travelling) \
             values ($1, $2, $3, $4, 'Test', 'Person', $5::date, 'unknown', $6, $7, $8)",
        )
        .bind(Uuid::now_v7())
        .bind(id)
        .bind(position as i32 + 1)
        .bind(m.relationship)
        .bind(m.date_of_birth)
        .bind(spec.destination)
        .bind(m.residence_status)
        .bind(m.travelling)
        .execute(&mut *tx)
        .await
        .expect("person");
    }
    if let Some((at, decision)) = spec.decided {
        sqlx::query(
            "insert into case_decisions (case_id, decision, reasons, legal_ground, decided_by, \
                 decided_at) \
             values ($1, $2, 'Test decision', case when $2 = 'rejected' then 'other' end, $3, \
                 $4::timestamptz)",
        )
        .bind(id)
        .bind(decision)
        .bind(sem)
        .bind(at)
        .execute(&mut *tx)
        .await
        .expect("decision");
        if decision == "approved" {
            let mut components = vec![("startup_cash", spec.payout.0.max(100_000))];
            if let Some(amount) = spec.reintegration {
                components.push(("reintegration_project", amount));
            }
            for (component, amount) in components {
                sqlx::query(
                    "insert into case_approved_assistance (case_id, component, amount_rappen) \
                     values ($1, $2, $3)",
                )
                .bind(id)
                .bind(component)
                .bind(amount)
                .execute(&mut *tx)
                .await
                .expect("approved assistance");
            }
            // As the approval does (the work queue reads it from the case).
            sqlx::query("update cases set reintegration_project = $2 where id = $1")
                .bind(id)
                .bind(spec.reintegration.is_some_and(|amount| amount > 0))
                .execute(&mut *tx)
                .await
                .expect("reintegration project");
        }
    }
    if let Some(at) = spec.departed {
        let itinerary = Uuid::now_v7();
        sqlx::query(
            "insert into case_itineraries (id, case_id, departure_airport, departure_at, \
                 flights, destination_airport, escort, booked_by, booked_at) \
             values ($1, $2, 'ZRH', $3::timestamptz, array['TK1912'], 'EBL', 'none', $4, \
                 $3::timestamptz - interval '7 days')",
        )
        .bind(itinerary)
        .bind(id)
        .bind(at)
        .bind(repat)
        .execute(&mut *tx)
        .await
        .expect("itinerary");
        // As the booking does: a swissREPAT journey (`sim` false).
        sqlx::query("update cases set journey_sim = false where id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .expect("journey");
        sqlx::query(
            "insert into case_departures (case_id, itinerary_id, departed_at, \
                 startup_cash_rappen, travel_money_rappen, receipt_reference, confirmed_by) \
             values ($1, $2, $3::timestamptz, $4, $5, 'ZRH-TEST', $6)",
        )
        .bind(id)
        .bind(itinerary)
        .bind(at)
        .bind(spec.payout.0)
        .bind(spec.payout.1)
        .bind(repat)
        .execute(&mut *tx)
        .await
        .expect("departure");
    }
    tx.commit().await.expect("commit");
    id
}
