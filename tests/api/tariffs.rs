//! Tariffs, new tariff versions, the destination lists, and the entitlement calculated from
//! what the database holds.

use axum::http::StatusCode;
use chrono::{Datelike, Days, NaiveDate};
use retour_domain::Rappen;
use retour_domain::assistance::{AssistanceComponent, EligibilityAnswers, Programme};
use retour_domain::entitlement::{self, EntitlementInput, HouseholdMember};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::TestApp;

fn items(body: &Value) -> &Vec<Value> {
    body["items"].as_array().expect("items")
}

/// The one item of `body` matching every `(field, value)` pair.
fn item<'a>(body: &'a Value, wanted: &[(&str, Value)]) -> &'a Value {
    let found: Vec<_> = items(body)
        .iter()
        .filter(|i| wanted.iter().all(|(field, value)| i[*field] == *value))
        .collect();
    assert_eq!(found.len(), 1, "{wanted:?} in {body}");
    found[0]
}

fn next_new_year(today: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(today.year() + 1, 1, 1).expect("date")
}

fn startup_adult_version(valid_from: NaiveDate, chf: u32) -> Value {
    json!({
        "programme": "cantonal", "component": "startup_cash", "person_category": "adult",
        "amount_rappen": Rappen::from_chf(chf).get(), "basis": "per_person",
        "valid_from": valid_from, "source": "AsylV 2 Art. 74 al. 2 (SEM directive)"
    })
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_signed_in_user_lists_the_cantonal_tariffs_valid_today(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login("counsellor.be@demo.test").await;
    let today = app.store.swiss_today().await.expect("today");
    let response = app.get("/v1/tariffs?programme=cantonal", Some(&token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let body = &response.body;
    assert_eq!(body["on"], today.to_string());
    assert_eq!(items(body).len(), 7, "{body}");
    assert!(items(body).iter().all(|t| t["programme"] == "cantonal" && t["is_example"] == false));
    let adult =
        item(body, &[("component", json!("startup_cash")), ("person_category", json!("adult"))]);
    assert_eq!(adult["amount_rappen"], 100_000);
    assert_eq!(adult["basis"], "per_person");
    assert_eq!(adult["valid_from"], "2019-03-01");
    assert_eq!(adult["valid_to"], Value::Null);
    assert!(adult["source"].as_str().is_some_and(|s| s.contains("Art. 74 al. 2")));
    assert!(adult["id"].is_string() && adult["created_at"].is_string());
    let minor =
        item(body, &[("component", json!("startup_cash")), ("person_category", json!("minor"))]);
    assert_eq!(minor["amount_rappen"], 50_000);
    let project = item(body, &[("component", json!("reintegration_project"))]);
    assert_eq!(
        (project["amount_rappen"].clone(), project["basis"].clone()),
        (json!(300_000), json!("per_family"))
    );
    let travel = item(body, &[("component", json!("travel_money")), ("rate", json!("standard"))]);
    assert_eq!(
        (travel["amount_rappen"].clone(), travel["family_cap_rappen"].clone()),
        (json!(10_000), json!(50_000))
    );
    let higher = item(body, &[("component", json!("travel_money")), ("rate", json!("higher"))]);
    assert_eq!(
        (higher["amount_rappen"].clone(), higher["family_cap_rappen"].clone()),
        (json!(50_000), json!(100_000))
    );
    for actual in ["travel_costs", "medical"] {
        assert_eq!(item(body, &[("component", json!(actual))])["amount_rappen"], Value::Null);
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn federal_centre_phase_tariffs_are_marked_as_examples(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login("iom@demo.test").await;
    let response =
        app.get("/v1/tariffs?programme=federal_centre&on=2026-12-15", Some(&token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let body = &response.body;
    for tariff in items(body) {
        assert_eq!(tariff["is_example"], tariff["phase"].is_string(), "{tariff}");
    }
    let phase1 = item(
        body,
        &[
            ("component", json!("startup_cash")),
            ("person_category", json!("adult")),
            ("phase", json!("phase_1")),
        ],
    );
    let phase4 = item(
        body,
        &[
            ("component", json!("startup_cash")),
            ("person_category", json!("adult")),
            ("phase", json!("phase_4")),
        ],
    );
    assert!(phase1["amount_rappen"].as_i64() > phase4["amount_rappen"].as_i64());
    assert!(phase1["source"].as_str().is_some_and(|s| s.starts_with("EXAMPLE")));
    // No increase beyond CHF 3,000 for a reintegration project from a federal centre.
    assert!(
        items(body)
            .iter()
            .filter(|t| t["component"] == "reintegration_project")
            .all(|t| t["amount_rappen"].as_i64().is_some_and(|a| a <= 300_000))
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn status_s_tariffs_apply_from_12_march_2022(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login("sem@demo.test").await;
    let before = app.get("/v1/tariffs?programme=status_s&on=2022-03-11", Some(&token)).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    assert!(items(&before.body).is_empty(), "{}", before.text);
    let from = app.get("/v1/tariffs?programme=status_s&on=2022-03-12", Some(&token)).await;
    let adult = item(
        &from.body,
        &[("component", json!("startup_cash")), ("person_category", json!("adult"))],
    );
    assert_eq!(
        (adult["amount_rappen"].clone(), adult["family_cap_rappen"].clone()),
        (json!(50_000), json!(200_000))
    );
    let child = item(
        &from.body,
        &[("component", json!("startup_cash")), ("person_category", json!("minor"))],
    );
    assert_eq!(child["amount_rappen"], 25_000);
    // Without a programme every programme is listed.
    let all = app.get("/v1/tariffs?on=2022-03-12", Some(&token)).await;
    assert_eq!(items(&all.body).len(), 7 + 15 + 3, "{}", all.text);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn tariffs_and_destination_rules_need_a_signed_in_user(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.get("/v1/tariffs", None).await.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    app.get("/v1/destination-rules", Some("not-a-token"))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    app.post("/v1/tariffs", None, &startup_adult_version(NaiveDate::MAX, 1))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_bad_programme_or_date_answers_422_naming_each_field(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login("counsellor.zh@demo.test").await;
    let response = app.get("/v1/tariffs?programme=canton&on=2026-13-01", Some(&token)).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: Vec<_> = response.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["field"].as_str(), e["code"].as_str()))
        .collect();
    assert_eq!(
        fields,
        [(Some("programme"), Some("unknown_value")), (Some("on"), Some("invalid_date"))]
    );
    let response = app.get("/v1/destination-rules?on=yesterday", Some(&token)).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["field"], "on");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_admin_adds_a_version_that_applies_from_its_start_and_closes_the_current_one(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    let token = app.login("admin@demo.test").await;
    let today = app.store.swiss_today().await.expect("today");
    let next_year = next_new_year(today);
    let response =
        app.post("/v1/tariffs", Some(&token), &startup_adult_version(next_year, 1_200)).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    assert_eq!(response.body["amount_rappen"], 120_000);
    assert_eq!(response.body["valid_from"], next_year.to_string());
    assert_eq!(response.body["valid_to"], Value::Null);
    assert_eq!(response.body["rate"], "standard");
    assert_eq!(response.body["is_example"], false);
    let id = response.body["id"].as_str().expect("id").to_owned();

    // Today the old version still applies, now ending when the new one starts.
    let now = app.get("/v1/tariffs?programme=cantonal", Some(&token)).await;
    let adult = item(
        &now.body,
        &[("component", json!("startup_cash")), ("person_category", json!("adult"))],
    );
    assert_eq!(adult["amount_rappen"], 100_000);
    assert_eq!(adult["valid_to"], next_year.to_string());
    let last_day = next_year - Days::new(1);
    let then =
        app.get(&format!("/v1/tariffs?programme=cantonal&on={last_day}"), Some(&token)).await;
    let adult = item(
        &then.body,
        &[("component", json!("startup_cash")), ("person_category", json!("adult"))],
    );
    assert_eq!(adult["amount_rappen"], 100_000);
    let later =
        app.get(&format!("/v1/tariffs?programme=cantonal&on={next_year}"), Some(&token)).await;
    let adult = item(
        &later.body,
        &[("component", json!("startup_cash")), ("person_category", json!("adult"))],
    );
    assert_eq!(adult["amount_rappen"], 120_000);
    assert_eq!(adult["id"], id.as_str());
    // The other tariffs are untouched.
    assert_eq!(items(&later.body).len(), 7);
    let minor = item(
        &later.body,
        &[("component", json!("startup_cash")), ("person_category", json!("minor"))],
    );
    assert_eq!(minor["amount_rappen"], 50_000);

    let (action, outcome, resource): (String, String, Option<uuid::Uuid>) = sqlx::query_as(
        "select action, outcome, resource_id from audit_events where action = 'tariff.create'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("one audit event");
    assert_eq!((action.as_str(), outcome.as_str()), ("tariff.create", "allowed"));
    assert_eq!(resource.map(|r| r.to_string()), Some(id));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn only_an_admin_adds_tariff_versions(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let today = app.store.swiss_today().await.expect("today");
    for email in ["sem@demo.test", "counsellor.be@demo.test", "auditor@demo.test"] {
        let token = app.login(email).await;
        app.post("/v1/tariffs", Some(&token), &startup_adult_version(next_new_year(today), 9_000))
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    let (tariffs, denied): (i64, i64) = sqlx::query_as(
        "select (select count(*) from tariffs), \
             (select count(*) from audit_events where action = 'tariff.create' and outcome = 'denied')",
    )
    .fetch_one(&app.pool)
    .await
    .expect("counts");
    assert_eq!((tariffs, denied), (25, 3));
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_new_version_starts_today_or_later_and_after_the_latest_version(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login("admin@demo.test").await;
    let today = app.store.swiss_today().await.expect("today");
    let yesterday = today - Days::new(1);
    let response =
        app.post("/v1/tariffs", Some(&token), &startup_adult_version(yesterday, 1_100)).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["field"], "valid_from");
    assert_eq!(response.body["errors"][0]["code"], "in_the_past");

    let in_a_year = today + Days::new(365);
    let created =
        app.post("/v1/tariffs", Some(&token), &startup_adult_version(in_a_year, 1_100)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    for valid_from in [in_a_year, today + Days::new(30)] {
        let response =
            app.post("/v1/tariffs", Some(&token), &startup_adult_version(valid_from, 1_050)).await;
        response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(response.body["errors"][0]["field"], "valid_from");
        assert_eq!(response.body["errors"][0]["code"], "not_after_latest_version");
        assert!(
            response.body["detail"].as_str().is_some_and(|d| d.contains(&in_a_year.to_string()))
        );
    }
    // A version starting today is accepted for a tariff that has none yet.
    let new_tariff = json!({
        "programme": "status_s", "component": "medical", "basis": "per_person",
        "amount_rappen": null, "valid_from": today, "source": "AsylV 2 Art. 75"
    });
    let response = app.post("/v1/tariffs", Some(&token), &new_tariff).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let listed = app.get("/v1/tariffs?programme=status_s", Some(&token)).await;
    assert_eq!(
        item(&listed.body, &[("component", json!("medical"))])["amount_rappen"],
        Value::Null
    );
    let count: (i64,) =
        sqlx::query_as("select count(*) from tariffs").fetch_one(&app.pool).await.expect("count");
    assert_eq!(count.0, 27);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn an_invalid_new_tariff_names_every_field(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login("admin@demo.test").await;
    let today = app.store.swiss_today().await.expect("today");
    let body = json!({
        "programme": "cantonal", "component": "startup_cash", "person_category": "adult",
        "phase": "phase_2", "basis": "per_family", "family_cap_rappen": -100,
        "valid_from": today + Days::new(10), "valid_to": today + Days::new(20), "source": "  "
    });
    let response = app.post("/v1/tariffs", Some(&token), &body).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: Vec<_> = response.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect();
    assert_eq!(
        fields,
        ["valid_to", "person_category", "phase", "amount_rappen", "family_cap_rappen", "source"]
    );

    let mut unknown = startup_adult_version(today, 1_000);
    unknown["programme"] = json!("cantonale");
    let response = app.post("/v1/tariffs", Some(&token), &unknown).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["field"], "programme");

    let mut bad_date = startup_adult_version(today, 1_000);
    bad_date["valid_from"] = json!("2027-02-30");
    let response = app.post("/v1/tariffs", Some(&token), &bad_date).await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.body["errors"][0]["field"], "valid_from");

    let count: (i64,) =
        sqlx::query_as("select count(*) from tariffs").fetch_one(&app.pool).await.expect("count");
    assert_eq!(count.0, 25, "nothing was written");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_past_tariff_is_never_edited_or_deleted(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let refused = [
        "update tariffs set amount_rappen = 1 where programme = 'cantonal' and component = 'startup_cash'",
        "update tariffs set valid_from = '2020-01-01' where component = 'travel_costs'",
        // Closing the current version in the past would change what applied then.
        "update tariffs set valid_to = '2020-01-01' where component = 'travel_costs'",
        "delete from tariffs where programme = 'status_s'",
        "update visa_exempt_countries set country = 'XK' where country = 'RS'",
        "delete from visa_exempt_countries",
        "insert into tariffs (id, programme, component, basis, valid_from, source) \
             values (gen_random_uuid(), 'cantonal', 'medical', 'per_person', '2020-01-01', 'x')",
    ];
    for sql in refused {
        let error = sqlx::query(sql).execute(&app.pool).await.expect_err(sql);
        let constraint = error.as_database_error().and_then(|e| e.constraint()).map(str::to_owned);
        assert!(
            constraint
                .as_deref()
                .is_some_and(|c| c.ends_with("_immutable") || c.ends_with("_valid_from_past")),
            "{sql}: {error}"
        );
    }
    // Two versions of one tariff can never overlap.
    let today = app.store.swiss_today().await.expect("today");
    let error = sqlx::query(
        "insert into tariffs (id, programme, component, basis, valid_from, source) \
         values (gen_random_uuid(), 'cantonal', 'medical', 'per_person', $1, 'x')",
    )
    .bind(today)
    .execute(&app.pool)
    .await
    .expect_err("overlap");
    assert_eq!(
        error.as_database_error().and_then(|e| e.constraint()),
        Some("tariffs_versions_overlap")
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn destination_rules_list_visa_exempt_and_suspended_countries_on_a_date(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = app.login("counsellor.be@demo.test").await;
    let today = app.store.swiss_today().await.expect("today");
    let response = app.get("/v1/destination-rules", Some(&token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.body["on"], today.to_string());
    let countries: Vec<_> = response.body["visa_exempt"]
        .as_array()
        .expect("visa_exempt")
        .iter()
        .map(|c| c["country"].as_str().expect("country").to_owned())
        .collect();
    assert_eq!(countries, ["AL", "BA", "GE", "MD", "ME", "MK", "RS", "UA"]);
    assert_eq!(response.body["visa_exempt"][0]["valid_from"], "2019-03-01");
    assert_eq!(response.body["suspended"], json!([]));

    sqlx::query(
        "insert into suspended_destinations (id, country, valid_from, reason) \
         values (gen_random_uuid(), 'IQ', $1, 'EXAMPLE: decision of the justice department')",
    )
    .bind(today + Days::new(1))
    .execute(&app.pool)
    .await
    .expect("suspension");
    let still = app.get("/v1/destination-rules", Some(&token)).await;
    assert_eq!(still.body["suspended"], json!([]));
    let tomorrow = today + Days::new(1);
    let then = app.get(&format!("/v1/destination-rules?on={tomorrow}"), Some(&token)).await;
    assert_eq!(then.body["suspended"][0]["country"], "IQ");
    assert_eq!(then.body["suspended"][0]["reason"], "EXAMPLE: decision of the justice department");
    let early = app.get("/v1/destination-rules?on=2019-02-28", Some(&token)).await;
    assert_eq!(early.body["visa_exempt"], json!([]));

    let iq = app.store.destination_on("IQ", tomorrow).await.expect("IQ");
    assert!(!iq.visa_exempt);
    assert_eq!(iq.suspension.as_deref(), Some("EXAMPLE: decision of the justice department"));
    assert_eq!(app.store.destination_on("IQ", today).await.expect("IQ").suspension, None);
    assert!(app.store.destination_on("RS", today).await.expect("RS").visa_exempt);
}

/// A household of `adults` and `minors` who entered on `entry`.
fn household(adults: usize, minors: usize, entry: NaiveDate) -> Vec<HouseholdMember> {
    let born = |y| NaiveDate::from_ymd_opt(y, 5, 1).expect("date");
    (0..adults + minors)
        .map(|i| HouseholdMember {
            date_of_birth: if i < adults { born(1980) } else { born(2016) },
            entry_date: Some(entry),
            travelling: true,
            principal: i == 0,
        })
        .collect()
}

async fn entitlement_from_store(
    app: &TestApp,
    programme: Programme,
    country: &str,
    household: Vec<HouseholdMember>,
    on: NaiveDate,
) -> entitlement::Entitlement {
    let tariffs = app.store.tariffs_on(Some(programme), on).await.expect("tariffs");
    let destination = app.store.destination_on(country, on).await.expect("destination");
    entitlement::calculate(&EntitlementInput {
        programme,
        phase: None,
        household,
        destination,
        eligibility: Some(EligibilityAnswers::default()),
        higher_travel_money: false,
        departure_date: on,
        tariffs: tariffs.into_iter().map(|v| v.tariff).collect(),
    })
    .expect("entitlement")
}

fn max(e: &entitlement::Entitlement, component: AssistanceComponent) -> Option<i64> {
    e.component(component).and_then(|c| c.max_amount_rappen).map(Rappen::get)
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_seeded_tariffs_give_the_worked_examples(pool: PgPool) {
    use AssistanceComponent::*;
    let app = TestApp::new(pool).await;
    let today = app.store.swiss_today().await.expect("today");
    let long_ago = NaiveDate::from_ymd_opt(2023, 1, 10).expect("date");

    let family =
        entitlement_from_store(&app, Programme::Cantonal, "IQ", household(2, 3, long_ago), today)
            .await;
    assert_eq!(max(&family, StartupCash), Some(350_000));
    assert_eq!(max(&family, TravelMoney), Some(50_000));
    assert_eq!(max(&family, ReintegrationProject), Some(300_000));
    assert_eq!(
        family.component(StartupCash).expect("startup").explanation[0],
        "2 adults × CHF 1,000.00 + 3 minors × CHF 500.00 = CHF 3,500.00."
    );

    let recent = today - Days::new(30);
    let newcomers =
        entitlement_from_store(&app, Programme::Cantonal, "IQ", household(2, 3, recent), today)
            .await;
    assert_eq!(max(&newcomers, StartupCash), Some(175_000));

    let status_s =
        entitlement_from_store(&app, Programme::StatusS, "UA", household(3, 3, long_ago), today)
            .await;
    assert_eq!(max(&status_s, StartupCash), Some(200_000));

    let single =
        entitlement_from_store(&app, Programme::Cantonal, "IQ", household(1, 0, long_ago), today)
            .await;
    assert_eq!(
        (max(&single, StartupCash), max(&single, TravelMoney)),
        (Some(100_000), Some(10_000))
    );

    let visa_exempt =
        entitlement_from_store(&app, Programme::Cantonal, "RS", household(1, 0, long_ago), today)
            .await;
    assert_eq!(visa_exempt.total_rappen, Rappen::ZERO);
    assert_eq!(visa_exempt.component(TravelCosts).expect("travel costs").max_amount_rappen, None);
    assert_eq!(max(&visa_exempt, StartupCash), Some(0));

    // A version valid from next year does not apply today.
    let token = app.login("admin@demo.test").await;
    let next_year = next_new_year(today);
    let created =
        app.post("/v1/tariffs", Some(&token), &startup_adult_version(next_year, 1_200)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let now =
        entitlement_from_store(&app, Programme::Cantonal, "IQ", household(1, 0, long_ago), today)
            .await;
    assert_eq!(max(&now, StartupCash), Some(100_000));
    let then = entitlement_from_store(
        &app,
        Programme::Cantonal,
        "IQ",
        household(1, 0, long_ago),
        next_year,
    )
    .await;
    assert_eq!(max(&then, StartupCash), Some(120_000));
}
