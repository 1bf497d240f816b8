//! Households and cases as the suites open them: the demo counsellors, request bodies, and
//! the database shortcuts scope tests use.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::app::{TestApp, TestResponse};

pub const BE: &str = "counsellor.be@demo.test";
pub const ZH: &str = "counsellor.zh@demo.test";

/// A principal applicant.
pub fn principal(surname: &str, zemis: Option<&str>) -> Value {
    json!({
        "relationship": "principal", "surname": surname, "given_names": "Karim",
        "date_of_birth": "1988-04-12", "sex": "male", "nationality": "IQ",
        "zemis_number": zemis, "n_number": "N 123 456", "residence_status": "N",
        "entry_date": "2024-02-01", "travelling": true
    })
}

/// A case body with a principal of this surname and ZEMIS number, and a child.
pub fn case_body(surname: &str, zemis: Option<&str>) -> Value {
    json!({
        "programme": "cantonal", "destination_country": "IQ",
        "planned_departure_date": next_month(),
        "persons": [principal(surname, zemis), {
            "relationship": "child", "surname": surname, "given_names": "Lina",
            "date_of_birth": "2015-06-01", "sex": "female", "nationality": "IQ"
        }],
        "vulnerabilities": ["medical"],
        "medical": { "summary": "Diabetes type 1", "fit_to_travel": true, "escort": "none" }
    })
}

fn next_month() -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(30)).to_string()
}

pub async fn open_case(app: &TestApp, token: &str, body: &Value) -> Value {
    let response = app.post("/v1/cases", Some(token), body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    response.body
}

pub async fn patch(
    app: &TestApp,
    token: &str,
    path: &str,
    version: &str,
    body: &Value,
) -> TestResponse {
    app.send(Method::PATCH, path, Some(token), Some(body), &[("if-match", version)]).await
}

pub async fn count(pool: &PgPool, table: &str) -> i64 {
    let sql = format!("select count(*) from {table}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.expect("count")
}

/// Moves a case into a status as the workflow would, for scope tests.
pub async fn set_status(pool: &PgPool, id: &str, status: &str, mission: Option<&str>) {
    sqlx::query(
        "update cases set status = $2, \
             submitted_at = case when $2 <> 'counselling' then now() end, \
             approved_at = case when $2 in ('approved', 'travel_booked', 'departed', \
                 'reintegration', 'closed') then now() end, \
             reintegration_mission_id = (select id from institutions where name = $3) \
         where id = $1::uuid",
    )
    .bind(id)
    .bind(status)
    .bind(mission)
    .execute(pool)
    .await
    .expect("status");
}
