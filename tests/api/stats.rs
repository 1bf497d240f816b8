//! Statistics: the figures of a known set of cases, each role's scope, the small-group rule
//! for service accounts, CSV exports and the access log.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::fixtures::{CaseSpec, Member, insert_case, institution, member, principal};
use crate::support::{TestApp, TestResponse};

/// The known set: 16 cases, 11 of Bern (one opened in 2025 and one departed at the Swiss
/// new year), 4 of Zürich, 1 of the federal asylum centre of the region Bern. Every time is
/// 10:00 UTC unless said otherwise. Durations in days: submission → decision, then
/// decision → departure.
///
/// | # | canton | dest | status | opened | s→d | d→dep | departed | persons (A/M) | paid | reintegr. |
/// |---|---|---|---|---|---|---|---|---|---|---|
/// | 1 | BE | IQ | closed | 2026-01-05 | 10 | 30 | 2026-02-19 | 3 (2/1) | 2500+300 | 3000, mission IQ |
/// | 2 | BE | IQ | reintegration | 2026-01-06 | 2 | 30 | 2026-02-13 | 1 (1/0) | 1000+100 | 3000, mission IQ |
/// | 3 | BE | IQ | departed | 2026-02-01 | 6 | 20 | 2026-03-01 | 3 (2/1) turning 18 that day / the next | 2000+300 | – |
/// | 4 | BE (status S) | IQ | departed | 2026-02-02 | 14 | 30 | 2026-03-20 | 1 (1/0), spouse stays | 500+100 | – |
/// | 5 | BE | IQ | departed | 2026-03-01 | 4 | 30 | 2026-04-05 | 1 (1/0) | 1000+100 | 2000 |
/// | 6 | BE | IQ | departed | 2025-11-01 | 20 | 30 | 2025-12-31 23:30 UTC = 2026-01-01 in Bern | 1 (1/0) | 1000+100 | 3000 |
/// | 7 | BE | GE | approved | 2026-04-01 | 7 | | | | | |
/// | 8 | BE | GE | approved | 2026-04-02 | 9 | | | | | |
/// | 9 | BE | GE | counselling | 2026-05-01 | | | | | | |
/// | 10 | BE | NG | rejected | 2026-03-10 | 30 | | | | | |
/// | 11 | ZH | IQ | departed | 2026-01-15 | 12 | 30 | 2026-03-03 | 2 (1/1) | 1500+200 | 3000 |
/// | 12 | ZH | IQ | departed | 2026-02-15 | 18 | 30 | 2026-04-09 | 1 (1/0) | 1000+100 | – |
/// | 13 | ZH | TR | counselling | 2026-06-01 | | | | | | |
/// | 14 | ZH | TR | submitted | 2026-06-02 | | | | | | |
/// | 15 | BAZ | IQ | departed | 2026-01-20 | 4 | 10 | 2026-02-04 | 1 (1/0) | 500+100 | – |
/// | 16 | BE | IQ | closed | 2025-03-01 | 10 | 30 | 2025-04-14 | 1 (1/0) | 1000+100 | 3000 |
///
/// Principal's residence status: N for 1, 5, 6, 8, 9, 11, 13, 14, 15, 16; F for 3, 7, 12;
/// rejected for 2, 10; S for 4.
async fn seed(pool: &PgPool) -> Vec<Uuid> {
    let be = Some("BE");
    let zh = Some("ZH");
    let departed = |canton, status, opened, submitted, decided, departed, payout| CaseSpec {
        submitted: Some(submitted),
        decided: Some((decided, "approved")),
        departed: Some(departed),
        payout,
        ..CaseSpec::new(canton, "IQ", status, opened)
    };
    let specs = vec![
        CaseSpec {
            reintegration: Some(300_000),
            mission: Some("IOM Iraq"),
            persons: vec![
                principal("1990-01-01", "N"),
                member("spouse", "1992-05-05"),
                member("child", "2015-03-03"),
            ],
            ..departed(
                be,
                "closed",
                "2026-01-05T10:00:00Z",
                "2026-01-10T10:00:00Z",
                "2026-01-20T10:00:00Z",
                "2026-02-19T10:00:00Z",
                (250_000, 30_000),
            )
        },
        CaseSpec {
            reintegration: Some(300_000),
            mission: Some("IOM Iraq"),
            persons: vec![principal("1985-07-07", "rejected")],
            ..departed(
                be,
                "reintegration",
                "2026-01-06T10:00:00Z",
                "2026-01-12T10:00:00Z",
                "2026-01-14T10:00:00Z",
                "2026-02-13T10:00:00Z",
                (100_000, 10_000),
            )
        },
        CaseSpec {
            persons: vec![
                principal("1980-01-01", "F"),
                member("child", "2008-03-01"),
                member("child", "2008-03-02"),
            ],
            ..departed(
                be,
                "departed",
                "2026-02-01T10:00:00Z",
                "2026-02-03T10:00:00Z",
                "2026-02-09T10:00:00Z",
                "2026-03-01T10:00:00Z",
                (200_000, 30_000),
            )
        },
        CaseSpec {
            programme: "status_s",
            persons: vec![
                principal("1970-01-01", "S"),
                Member { travelling: false, ..member("spouse", "1972-02-02") },
            ],
            ..departed(
                be,
                "departed",
                "2026-02-02T10:00:00Z",
                "2026-02-04T10:00:00Z",
                "2026-02-18T10:00:00Z",
                "2026-03-20T10:00:00Z",
                (50_000, 10_000),
            )
        },
        CaseSpec {
            reintegration: Some(200_000),
            persons: vec![principal("1995-01-01", "N")],
            ..departed(
                be,
                "departed",
                "2026-03-01T10:00:00Z",
                "2026-03-02T10:00:00Z",
                "2026-03-06T10:00:00Z",
                "2026-04-05T10:00:00Z",
                (100_000, 10_000),
            )
        },
        CaseSpec {
            reintegration: Some(300_000),
            persons: vec![principal("1990-06-06", "N")],
            ..departed(
                be,
                "departed",
                "2025-11-01T10:00:00Z",
                "2025-11-11T23:30:00Z",
                "2025-12-01T23:30:00Z",
                "2025-12-31T23:30:00Z",
                (100_000, 10_000),
            )
        },
        CaseSpec {
            submitted: Some("2026-04-03T10:00:00Z"),
            decided: Some(("2026-04-10T10:00:00Z", "approved")),
            persons: vec![principal("1988-08-08", "F")],
            ..CaseSpec::new(be, "GE", "approved", "2026-04-01T10:00:00Z")
        },
        CaseSpec {
            submitted: Some("2026-04-04T10:00:00Z"),
            decided: Some(("2026-04-13T10:00:00Z", "approved")),
            persons: vec![principal("1999-09-09", "N")],
            ..CaseSpec::new(be, "GE", "approved", "2026-04-02T10:00:00Z")
        },
        CaseSpec {
            persons: vec![principal("2000-01-01", "N")],
            ..CaseSpec::new(be, "GE", "counselling", "2026-05-01T10:00:00Z")
        },
        CaseSpec {
            submitted: Some("2026-03-12T10:00:00Z"),
            decided: Some(("2026-04-11T10:00:00Z", "rejected")),
            persons: vec![principal("1991-01-01", "rejected")],
            ..CaseSpec::new(be, "NG", "rejected", "2026-03-10T10:00:00Z")
        },
        CaseSpec {
            reintegration: Some(300_000),
            persons: vec![principal("1980-01-01", "N"), member("child", "2020-01-01")],
            ..departed(
                zh,
                "departed",
                "2026-01-15T10:00:00Z",
                "2026-01-20T10:00:00Z",
                "2026-02-01T10:00:00Z",
                "2026-03-03T10:00:00Z",
                (150_000, 20_000),
            )
        },
        CaseSpec {
            persons: vec![principal("1975-05-05", "F")],
            ..departed(
                zh,
                "departed",
                "2026-02-15T10:00:00Z",
                "2026-02-20T10:00:00Z",
                "2026-03-10T10:00:00Z",
                "2026-04-09T10:00:00Z",
                (100_000, 10_000),
            )
        },
        CaseSpec {
            persons: vec![principal("1990-01-01", "N")],
            ..CaseSpec::new(zh, "TR", "counselling", "2026-06-01T10:00:00Z")
        },
        CaseSpec {
            submitted: Some("2026-06-10T10:00:00Z"),
            persons: vec![principal("1990-01-01", "N")],
            ..CaseSpec::new(zh, "TR", "submitted", "2026-06-02T10:00:00Z")
        },
        CaseSpec {
            persons: vec![principal("1996-01-01", "N")],
            ..departed(
                None,
                "departed",
                "2026-01-20T10:00:00Z",
                "2026-01-21T10:00:00Z",
                "2026-01-25T10:00:00Z",
                "2026-02-04T10:00:00Z",
                (50_000, 10_000),
            )
        },
        CaseSpec {
            reintegration: Some(300_000),
            persons: vec![principal("1980-01-01", "N")],
            ..departed(
                be,
                "closed",
                "2025-03-01T10:00:00Z",
                "2025-03-05T10:00:00Z",
                "2025-03-15T10:00:00Z",
                "2025-04-14T10:00:00Z",
                (100_000, 10_000),
            )
        },
    ];
    let mut ids = Vec::new();
    for spec in &specs {
        ids.push(insert_case(pool, spec).await);
    }
    ids
}

async fn setup(pool: PgPool) -> TestApp {
    let app = TestApp::new(pool).await;
    seed(&app.pool).await;
    app
}

/// GET as `email`, asserting 200.
async fn get_ok(app: &TestApp, path: &str, email: &str) -> Value {
    let token = app.login(email).await;
    let response = app.get(path, Some(&token)).await;
    assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.text);
    response.body
}

async fn groups(app: &TestApp, path: &str, email: &str) -> Value {
    get_ok(app, path, email).await["groups"].clone()
}

/// A service account of IOM Bern with `scopes`, and its access token.
async fn service_token(app: &TestApp, scopes: &[&str]) -> String {
    let (_, client_id, secret) = crate::tokens::service_account(app, scopes).await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/auth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
        )))
        .expect("request");
    let response = app.send_request(request).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body["access_token"].as_str().expect("token").to_owned()
}

async fn audit_events(app: &TestApp, action: &str) -> Vec<(String, Value)> {
    sqlx::query_as(
        "select outcome, details from audit_events where action = $1 order by occurred_at",
    )
    .bind(action)
    .fetch_all(&app.pool)
    .await
    .expect("audit events")
}

// --- Figures ------------------------------------------------------------------------------

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn case_counts_by_canton_and_status_have_the_shape_of_the_contract(pool: PgPool) {
    let app = setup(pool).await;
    let body = get_ok(&app, "/v1/stats/cases?group_by=canton,status", "sem@demo.test").await;
    assert_eq!(
        body,
        json!({ "groups": [
            { "canton": "BE", "status": "approved", "count": 2 },
            { "canton": "BE", "status": "closed", "count": 2 },
            { "canton": "BE", "status": "counselling", "count": 1 },
            { "canton": "BE", "status": "departed", "count": 4 },
            { "canton": "BE", "status": "reintegration", "count": 1 },
            { "canton": "BE", "status": "rejected", "count": 1 },
            { "canton": "ZH", "status": "counselling", "count": 1 },
            { "canton": "ZH", "status": "departed", "count": 2 },
            { "canton": "ZH", "status": "submitted", "count": 1 },
            { "canton": null, "status": "departed", "count": 1 },
        ]})
    );
    // Without group_by: the total; the order of group_by is the order of the groups.
    assert_eq!(groups(&app, "/v1/stats/cases", "sem@demo.test").await, json!([{ "count": 16 }]));
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=residence_status", "sem@demo.test").await,
        json!([
            { "residence_status": "F", "count": 3 },
            { "residence_status": "N", "count": 10 },
            { "residence_status": "S", "count": 1 },
            { "residence_status": "rejected", "count": 2 },
        ])
    );
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=destination_country,programme", "sem@demo.test")
            .await,
        json!([
            { "destination_country": "GE", "programme": "cantonal", "count": 3 },
            { "destination_country": "IQ", "programme": "cantonal", "count": 8 },
            { "destination_country": "IQ", "programme": "federal_centre", "count": 1 },
            { "destination_country": "IQ", "programme": "status_s", "count": 1 },
            { "destination_country": "NG", "programme": "cantonal", "count": 1 },
            { "destination_country": "TR", "programme": "cantonal", "count": 2 },
        ])
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn periods_of_opening_decision_and_departure_are_counted_in_swiss_days(pool: PgPool) {
    let app = setup(pool).await;
    let sem = "sem@demo.test";
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=period&period=year", sem).await,
        json!([{ "period": "2025", "count": 2 }, { "period": "2026", "count": 14 }])
    );
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=period&from=2026-01-01&to=2026-03-31", sem).await,
        json!([
            { "period": "2026-01", "count": 4 },
            { "period": "2026-02", "count": 3 },
            { "period": "2026-03", "count": 2 },
        ])
    );
    // Decided cases only; case 6 was decided at 23:30 UTC on 1 December, 2 December in Bern.
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=period&period=quarter&period_of=decided", sem).await,
        json!([
            { "period": "2025-Q1", "count": 1 },
            { "period": "2025-Q4", "count": 1 },
            { "period": "2026-Q1", "count": 8 },
            { "period": "2026-Q2", "count": 3 },
        ])
    );
    // Case 6 left at 23:30 UTC on 31 December 2025: 1 January 2026 in Switzerland.
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=period&period=year&period_of=departed", sem).await,
        json!([{ "period": "2025", "count": 1 }, { "period": "2026", "count": 9 }])
    );
    assert_eq!(
        groups(&app, "/v1/stats/cases?period_of=departed&from=2026-01-01&to=2026-01-01", sem).await,
        json!([{ "count": 1 }])
    );
    assert_eq!(
        groups(&app, "/v1/stats/cases?period_of=decided&from=2025-12-01&to=2025-12-01", sem).await,
        json!([{ "count": 0 }])
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn filters_combine_and_take_several_values(pool: PgPool) {
    let app = setup(pool).await;
    let sem = "sem@demo.test";
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=status&canton=ZH&destination_country=tr", sem).await,
        json!([{ "status": "counselling", "count": 1 }, { "status": "submitted", "count": 1 }])
    );
    assert_eq!(
        groups(
            &app,
            "/v1/stats/cases?group_by=canton&residence_status=F,S&status=departed,approved",
            sem
        )
        .await,
        json!([{ "canton": "BE", "count": 3 }, { "canton": "ZH", "count": 1 }])
    );
    assert_eq!(
        groups(&app, "/v1/stats/cases?programme=federal_centre&programme=status_s", sem).await,
        json!([{ "count": 2 }])
    );
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=status&period_of=decided&from=2026-04-01", sem)
            .await,
        json!([{ "status": "approved", "count": 2 }, { "status": "rejected", "count": 1 }])
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn departures_count_persons_by_age_on_the_day_and_sum_the_amounts(pool: PgPool) {
    let app = setup(pool).await;
    let body =
        get_ok(&app, "/v1/stats/departures?from=2026-01-01&to=2026-12-31", "sem@demo.test").await;
    let row = |period: &str, canton: Value, figures: [i64; 7]| {
        json!({
            "period": period, "destination_country": "IQ", "canton": canton,
            "departures": figures[0], "persons": figures[1], "adults": figures[2],
            "minors": figures[3], "startup_cash_rappen": figures[4],
            "travel_money_rappen": figures[5], "approved_reintegration_rappen": figures[6],
        })
    };
    assert_eq!(
        body,
        json!({ "groups": [
            row("2026-01", json!("BE"), [1, 1, 1, 0, 100_000, 10_000, 300_000]),
            row("2026-02", json!("BE"), [2, 4, 3, 1, 350_000, 40_000, 600_000]),
            row("2026-02", Value::Null, [1, 1, 1, 0, 50_000, 10_000, 0]),
            // Case 3: one child turned 18 on the departure day (adult), the other a day later.
            row("2026-03", json!("BE"), [2, 4, 3, 1, 250_000, 40_000, 0]),
            row("2026-03", json!("ZH"), [1, 2, 1, 1, 150_000, 20_000, 300_000]),
            row("2026-04", json!("BE"), [1, 1, 1, 0, 100_000, 10_000, 200_000]),
            row("2026-04", json!("ZH"), [1, 1, 1, 0, 100_000, 10_000, 0]),
        ]})
    );
    let by_canton = groups(&app, "/v1/stats/departures?group_by=canton", "sem@demo.test").await;
    assert_eq!(by_canton.as_array().map(Vec::len), Some(3), "{by_canton}");
    let total = groups(
        &app,
        "/v1/stats/departures?group_by=period&period=year&from=2025-01-01",
        "sem@demo.test",
    )
    .await;
    assert_eq!(
        total,
        json!([
            { "period": "2025", "departures": 1, "persons": 1, "adults": 1, "minors": 0,
              "startup_cash_rappen": 100_000, "travel_money_rappen": 10_000,
              "approved_reintegration_rappen": 300_000 },
            { "period": "2026", "departures": 9, "persons": 14, "adults": 11, "minors": 3,
              "startup_cash_rappen": 1_100_000, "travel_money_rappen": 140_000,
              "approved_reintegration_rappen": 1_400_000 },
        ])
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_pipeline_reports_statuses_now_and_duration_percentiles_per_canton(pool: PgPool) {
    let app = setup(pool).await;
    let body =
        get_ok(&app, "/v1/stats/pipeline?from=2026-01-01&to=2026-12-31", "sem@demo.test").await;
    let durations = |cases: i64, median: f64, p90: f64| json!({ "cases": cases, "median_days": median, "p90_days": p90 });
    assert_eq!(body["from"], "2026-01-01");
    assert_eq!(body["to"], "2026-12-31");
    assert_eq!(
        body["total"],
        json!({
            "statuses": [
                { "status": "counselling", "count": 2 },
                { "status": "submitted", "count": 1 },
                { "status": "approved", "count": 2 },
                { "status": "rejected", "count": 1 },
                { "status": "departed", "count": 7 },
                { "status": "reintegration", "count": 1 },
                { "status": "closed", "count": 2 },
            ],
            // 2, 4, 4, 6, 7, 9, 10, 12, 14, 18, 30 (case 6 was decided in 2025)
            "submission_to_decision": durations(11, 9.0, 18.0),
            // 10, 20 and seven times 30 (case 6 left on 1 January 2026, Swiss time)
            "decision_to_departure": durations(9, 30.0, 30.0),
        })
    );
    let cantons = body["cantons"].as_array().expect("cantons");
    assert_eq!(cantons.len(), 3);
    assert_eq!(cantons[0]["canton"], "BE");
    // 2, 4, 6, 7, 9, 10, 14, 30: the median between 7 and 9, the 90th percentile 14 + 0.3 × 16.
    assert_eq!(cantons[0]["submission_to_decision"], durations(8, 8.0, 18.8));
    assert_eq!(cantons[0]["decision_to_departure"], durations(6, 30.0, 30.0));
    assert_eq!(cantons[0]["statuses"].as_array().map(Vec::len), Some(6));
    assert_eq!(cantons[1]["canton"], "ZH");
    assert_eq!(cantons[1]["submission_to_decision"], durations(2, 15.0, 17.4));
    assert_eq!(
        cantons[1]["statuses"],
        json!([
            { "status": "counselling", "count": 1 },
            { "status": "submitted", "count": 1 },
            { "status": "departed", "count": 2 },
        ])
    );
    assert_eq!(cantons[2]["canton"], Value::Null);
    assert_eq!(cantons[2]["submission_to_decision"], durations(1, 4.0, 4.0));
    assert_eq!(cantons[2]["decision_to_departure"], durations(1, 10.0, 10.0));

    // Without a range: the 365 days up to today.
    let recent = get_ok(&app, "/v1/stats/pipeline", "sem@demo.test").await;
    let today = chrono::Utc::now().date_naive();
    assert_eq!(recent["to"], today.to_string());
    assert_eq!(recent["from"], (today - chrono::Duration::days(364)).to_string());
    assert_eq!(recent["total"]["statuses"], body["total"]["statuses"]);
    // A range without decisions: no figures, not zeros.
    let empty =
        get_ok(&app, "/v1/stats/pipeline?from=2020-01-01&to=2020-12-31", "sem@demo.test").await;
    assert_eq!(
        empty["total"]["submission_to_decision"],
        json!({ "cases": 0, "median_days": null, "p90_days": null })
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_yearly_overview_lists_departures_destinations_cantons_and_amounts(pool: PgPool) {
    let app = setup(pool).await;
    let body = get_ok(&app, "/v1/stats/yearly?year=2026", "sem@demo.test").await;
    let sums = |figures: [i64; 7]| {
        json!({
            "departures": figures[0], "persons": figures[1], "adults": figures[2],
            "minors": figures[3], "startup_cash_rappen": figures[4],
            "travel_money_rappen": figures[5], "approved_reintegration_rappen": figures[6],
        })
    };
    let with = |mut sums: Value, key: &str, value: Value| {
        sums[key] = value;
        sums
    };
    let all = [9, 14, 11, 3, 1_100_000, 140_000, 1_400_000];
    assert_eq!(
        body,
        json!({
            "year": 2026,
            "departures": sums(all),
            "opened_cases": { "count": 14 },
            "approved_cases": { "count": 10 },
            "rejected_cases": { "count": 1 },
            "top_destinations": [with(sums(all), "destination_country", json!("IQ"))],
            "cantons": [
                with(sums([6, 10, 8, 2, 800_000, 100_000, 1_100_000]), "canton", json!("BE")),
                with(sums([2, 3, 2, 1, 250_000, 30_000, 300_000]), "canton", json!("ZH")),
                with(sums([1, 1, 1, 0, 50_000, 10_000, 0]), "canton", Value::Null),
            ],
            "programmes": [
                with(sums([7, 12, 9, 3, 1_000_000, 120_000, 1_400_000]), "programme", json!("cantonal")),
                with(sums([1, 1, 1, 0, 50_000, 10_000, 0]), "programme", json!("federal_centre")),
                with(sums([1, 1, 1, 0, 50_000, 10_000, 0]), "programme", json!("status_s")),
            ],
        })
    );
    let empty = get_ok(&app, "/v1/stats/yearly?year=2024", "iom@demo.test").await;
    assert_eq!(empty["departures"], sums([0; 7]), "zero is never withheld");
    assert_eq!(empty["top_destinations"], json!([]));
    let zurich = get_ok(&app, "/v1/stats/yearly?year=2026&canton=ZH&top=1", "sem@demo.test").await;
    assert_eq!(zurich["departures"]["departures"], 2);
    assert_eq!(zurich["opened_cases"]["count"], 4);
}

// --- Scope --------------------------------------------------------------------------------

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_counsellor_sees_only_their_own_services_figures(pool: PgPool) {
    let app = setup(pool).await;
    let be = "counsellor.be@demo.test";
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=canton", be).await,
        json!([{ "canton": "BE", "count": 11 }])
    );
    // Their own service's small groups are withheld too: 2, 2, 1, 4, 1, 1 cases per status.
    let withheld = |canton: &str, status: &str| json!({ "canton": canton, "status": status, "count": null, "suppressed": true });
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=canton,status", be).await,
        json!([
            withheld("BE", "approved"),
            withheld("BE", "closed"),
            withheld("BE", "counselling"),
            withheld("BE", "departed"),
            withheld("BE", "reintegration"),
            withheld("BE", "rejected"),
        ])
    );
    // Asking for another canton's figures finds nothing rather than them.
    assert_eq!(groups(&app, "/v1/stats/cases?canton=ZH", be).await, json!([{ "count": 0 }]));
    let zh = "counsellor.zh@demo.test";
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=canton", zh).await,
        json!([{ "canton": "ZH", "count": null, "suppressed": true }])
    );
    let departures = groups(&app, "/v1/stats/departures?group_by=canton&from=2026-01-01", zh).await;
    assert_eq!(departures.as_array().map(Vec::len), Some(1));
    assert_eq!(departures[0]["canton"], "ZH");
    assert_eq!(departures[0]["suppressed"], true);
    let pipeline = get_ok(&app, "/v1/stats/pipeline?from=2026-01-01&to=2026-12-31", zh).await;
    assert_eq!(pipeline["cantons"].as_array().map(Vec::len), Some(1));
    assert_eq!(pipeline["total"]["submission_to_decision"]["suppressed"], true);
    let yearly = get_ok(&app, "/v1/stats/yearly?year=2026", be).await;
    assert_eq!(yearly["departures"]["departures"], 6);
    assert_eq!(yearly["opened_cases"]["count"], 9);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_mission_officer_sees_only_the_cases_assigned_to_their_mission(pool: PgPool) {
    let app = setup(pool).await;
    let mission = "mission.iq@demo.test";
    // Cases 1 and 2: two cases, withheld.
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=destination_country", mission).await,
        json!([{ "destination_country": "IQ", "count": null, "suppressed": true }])
    );
    // A mission with no assigned case has no figures.
    let georgia = institution(&app.pool, "IOM Georgia").await;
    sqlx::query(
        "insert into users (id, institution_id, email, display_name, role, password_hash) \
         select $1, $2, 'mission.ge@demo.test', 'Nino', 'iom_mission_officer', password_hash \
         from users where email = 'mission.iq@demo.test'",
    )
    .bind(Uuid::now_v7())
    .bind(georgia)
    .execute(&app.pool)
    .await
    .expect("user");
    assert_eq!(
        groups(&app, "/v1/stats/cases", "mission.ge@demo.test").await,
        json!([{ "count": 0 }])
    );
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn sem_swissrepat_iom_bern_and_auditors_see_every_case(pool: PgPool) {
    let app = setup(pool).await;
    for email in ["sem@demo.test", "swissrepat@demo.test", "iom@demo.test", "auditor@demo.test"] {
        assert_eq!(
            groups(&app, "/v1/stats/cases", email).await,
            json!([{ "count": 16 }]),
            "{email}"
        );
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn admins_and_service_accounts_without_stats_read_are_refused_and_logged(pool: PgPool) {
    let app = setup(pool).await;
    let admin = app.login("admin@demo.test").await;
    let integration = service_token(&app, &["cases:read"]).await;
    for path in [
        "/v1/stats/cases",
        "/v1/stats/departures",
        "/v1/stats/pipeline",
        "/v1/stats/yearly?year=2026",
    ] {
        for token in [&admin, &integration] {
            app.get(path, Some(token)).await.assert_problem(StatusCode::FORBIDDEN, "forbidden");
        }
        app.get(path, None).await.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
        app.get(path, Some("not-a-token"))
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    }
    let denied = audit_events(&app, "stats.read").await;
    assert_eq!(denied.len(), 8);
    assert!(denied.iter().all(|(outcome, _)| outcome == "denied"));
    assert_eq!(denied[0].1, json!({ "report": "cases" }));
    let export = app
        .send(Method::GET, "/v1/stats/cases", Some(&admin), None, &[("accept", "text/csv")])
        .await;
    export.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(audit_events(&app, "stats.export").await[0].0, "denied");
}

// --- What each role may count -------------------------------------------------------------

/// The detail of a 403 `dimension_not_allowed`, asserting that it names `parameter`.
fn refused_parameter(response: &TestResponse, parameter: &str) {
    response.assert_problem(StatusCode::FORBIDDEN, "dimension_not_allowed");
    let detail = response.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(parameter), "{detail} names {parameter}");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_mission_officer_cannot_count_its_cases_by_residence_status_or_status(pool: PgPool) {
    let app = setup(pool).await;
    let token = app.login("mission.iq@demo.test").await;
    let refused = app.get("/v1/stats/cases?group_by=residence_status,status", Some(&token)).await;
    refused_parameter(&refused, "group_by");
    refused_parameter(&refused, "residence_status");
    assert!(refused.body.get("groups").is_none(), "{}", refused.text);
    for (path, parameter) in [
        ("/v1/stats/cases?group_by=status", "group_by"),
        ("/v1/stats/cases?group_by=canton&residence_status=N", "residence_status"),
        ("/v1/stats/cases?status=reintegration", "status"),
        ("/v1/stats/cases?period_of=departed", "period_of"),
        ("/v1/stats/pipeline?residence_status=N", "residence_status"),
        ("/v1/stats/yearly?year=2026&residence_status=rejected", "residence_status"),
    ] {
        refused_parameter(&app.get(path, Some(&token)).await, parameter);
    }
    let csv = [("accept", "text/csv")];
    let export =
        app.send(Method::GET, "/v1/stats/cases?group_by=status", Some(&token), None, &csv).await;
    refused_parameter(&export, "group_by");
    // Each refusal is logged with the report and the parameter, and nothing is counted.
    let denied = audit_events(&app, "stats.read").await;
    assert_eq!(denied.len(), 7);
    assert_eq!(
        denied[0],
        (
            "denied".to_owned(),
            json!({ "report": "cases", "refused": "dimension_not_allowed",
                    "parameter": "group_by" })
        )
    );
    assert_eq!(audit_events(&app, "stats.export").await[0].0, "denied");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_mission_officer_receives_no_departure_payout_status_or_decision_of_its_cases(
    pool: PgPool,
) {
    let app = setup(pool).await;
    let mission = "mission.iq@demo.test";
    let token = app.login(mission).await;
    let csv = [("accept", "text/csv")];
    for headers in [&[][..], &csv[..]] {
        let refused =
            app.send(Method::GET, "/v1/stats/departures", Some(&token), None, headers).await;
        refused.assert_problem(StatusCode::FORBIDDEN, "report_not_allowed");
        assert!(refused.body["detail"].as_str().is_some_and(|d| d.contains("departures")));
    }
    // The pipeline without statuses and days to the departure: not zero, absent.
    let pipeline = get_ok(&app, "/v1/stats/pipeline?from=2026-01-01&to=2026-12-31", mission).await;
    let withheld =
        json!({ "cases": null, "median_days": null, "p90_days": null, "suppressed": true });
    assert_eq!(pipeline["total"], json!({ "submission_to_decision": withheld }));
    assert_eq!(
        pipeline["cantons"],
        json!([{ "canton": "BE", "submission_to_decision": withheld }])
    );
    // The year: the cases opened, nothing of departures, money or decisions.
    let yearly = get_ok(&app, "/v1/stats/yearly?year=2026", mission).await;
    assert_eq!(
        yearly,
        json!({ "year": 2026, "opened_cases": { "count": null, "suppressed": true } })
    );
    let export =
        app.send(Method::GET, "/v1/stats/yearly?year=2026", Some(&token), None, &csv).await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text);
    assert_eq!(export.text, "section,value,count,suppressed\r\nopened_cases,,,true\r\n");
    let export =
        app.send(Method::GET, "/v1/stats/pipeline?from=2026-01-01", Some(&token), None, &csv).await;
    let figures: Vec<String> =
        csv_rows(&export).into_iter().skip(1).map(|r| r[2].clone()).collect();
    assert_eq!(figures, ["submission_to_decision", "submission_to_decision"]);
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn what_each_role_may_count_follows_its_view_of_a_case(pool: PgPool) {
    let app = setup(pool).await;
    // Grouped by residence status, by status, and departures (status of each answer).
    let expected = [
        ("counsellor.be@demo.test", [200, 200, 200]),
        ("sem@demo.test", [200, 200, 200]),
        ("swissrepat@demo.test", [403, 200, 200]),
        ("iom@demo.test", [403, 200, 200]),
        ("mission.iq@demo.test", [403, 403, 403]),
        ("auditor@demo.test", [403, 403, 403]),
    ];
    for (email, statuses) in expected {
        let token = app.login(email).await;
        for (path, status) in [
            "/v1/stats/cases?group_by=residence_status",
            "/v1/stats/cases?group_by=status",
            "/v1/stats/departures",
        ]
        .into_iter()
        .zip(statuses)
        {
            assert_eq!(app.get(path, Some(&token)).await.status.as_u16(), status, "{email} {path}");
        }
    }
    // IOM Bern's integration counts as IOM Bern's people: no residence status either.
    let token = service_token(&app, &["stats:read"]).await;
    refused_parameter(
        &app.get("/v1/stats/cases?group_by=residence_status", Some(&token)).await,
        "residence_status",
    );
    // An auditor counts what identifies a case: the pipeline's durations to a decision, the
    // cases opened in a year, no amounts.
    let auditor = get_ok(&app, "/v1/stats/yearly?year=2026", "auditor@demo.test").await;
    assert_eq!(auditor, json!({ "year": 2026, "opened_cases": { "count": 14 } }));
}

// --- Small groups -------------------------------------------------------------------------

/// GET as the service account `token`, asserting 200.
async fn get_as(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app.get(path, Some(token)).await;
    assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.text);
    response.body
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn a_withheld_group_cannot_be_worked_out_from_the_total(pool: PgPool) {
    let app = setup(pool).await;
    let token = service_token(&app, &["stats:read"]).await;
    // Finding 3: nine cases, eight of the cantonal programme and one of status S. With only
    // the one withheld, it was 9 - 8.
    let filter = "destination_country=IQ&programme=cantonal,status_s";
    let total = get_as(&app, &format!("/v1/stats/cases?{filter}"), &token).await;
    assert_eq!(total["groups"], json!([{ "count": 9 }]));
    let withheld =
        |programme: &str| json!({ "programme": programme, "count": null, "suppressed": true });
    let expected = json!([withheld("cantonal"), withheld("status_s")]);
    let by_programme = format!("/v1/stats/cases?group_by=programme&{filter}");
    assert_eq!(get_as(&app, &by_programme, &token).await["groups"], expected);
    // The same for a user outside SEM, and its CSV; SEM sees both figures.
    assert_eq!(groups(&app, &by_programme, "iom@demo.test").await, expected);
    let iom = app.login("iom@demo.test").await;
    let rows = csv_rows(
        &app.send(Method::GET, &by_programme, Some(&iom), None, &[("accept", "text/csv")]).await,
    );
    assert_eq!(
        rows,
        [["programme", "count", "suppressed"], ["cantonal", "", "true"], ["status_s", "", "true"]]
    );
    assert_eq!(
        groups(&app, &by_programme, "sem@demo.test").await,
        json!([{ "programme": "cantonal", "count": 8 }, { "programme": "status_s", "count": 1 }])
    );

    // Departures and their amounts: 7 cantonal and 1 of status S left in 2026.
    let filter = "from=2026-01-01&programme=cantonal,status_s";
    let total = get_as(&app, &format!("/v1/stats/departures?group_by=&{filter}"), &token).await;
    assert_eq!(total["groups"][0]["departures"], 8);
    assert_eq!(total["groups"][0]["startup_cash_rappen"], 1_050_000);
    let by_programme =
        get_as(&app, &format!("/v1/stats/departures?group_by=programme&{filter}"), &token).await;
    for group in by_programme["groups"].as_array().expect("groups") {
        assert_eq!(group["suppressed"], true, "{group}");
        assert_eq!(group["startup_cash_rappen"], Value::Null, "{group}");
    }

    // The approvals and rejections of a year add up to its decisions, which anyone may count.
    let decided = "/v1/stats/cases?period_of=decided&from=2026-01-01&to=2026-12-31";
    assert_eq!(get_as(&app, decided, &token).await["groups"], json!([{ "count": 11 }]));
    let yearly = get_as(&app, "/v1/stats/yearly?year=2026", &token).await;
    assert_eq!(yearly["rejected_cases"], json!({ "count": null, "suppressed": true }));
    assert_eq!(yearly["approved_cases"], json!({ "count": null, "suppressed": true }));
}

/// The groups of `path` (grouped by `dimensions`) as (their values, withheld).
async fn answer(
    app: &TestApp,
    path: &str,
    dimensions: &[&str],
    token: &str,
) -> Vec<(Vec<String>, bool)> {
    let body = get_as(app, path, token).await;
    body["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|group| {
            let values = dimensions.iter().map(|d| group[*d].to_string()).collect();
            let withheld = group["suppressed"] == true;
            assert_eq!(withheld, group["count"].is_null(), "{group}");
            (values, withheld)
        })
        .collect()
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn no_withheld_figure_is_alone_on_a_row_column_or_total_the_caller_can_ask_for(pool: PgPool) {
    let app = setup(pool).await;
    let token = service_token(&app, &["stats:read"]).await;
    for (a, b) in [
        ("canton", "status"),
        ("canton", "programme"),
        ("destination_country", "status"),
        ("period", "canton"),
        ("programme", "status"),
    ] {
        let path = |group_by: &str| format!("/v1/stats/cases?group_by={group_by}");
        let table = answer(&app, &path(&format!("{a},{b}")), &[a, b], &token).await;
        let rows = answer(&app, &path(a), &[a], &token).await;
        let columns = answer(&app, &path(b), &[b], &token).await;
        let total = answer(&app, &path(""), &[], &token).await;
        let mut withheld_anywhere = false;
        // Every row, every column, and the whole table, with its published total.
        for (dimension, totals) in [(0, &rows), (1, &columns)] {
            for (value, total_withheld) in totals {
                let line: Vec<bool> = table
                    .iter()
                    .filter(|(values, _)| values[dimension] == value[0])
                    .map(|(_, withheld)| *withheld)
                    .collect();
                let unknowns = line.iter().filter(|w| **w).count() + usize::from(*total_withheld);
                withheld_anywhere |= unknowns > 0;
                assert_ne!(unknowns, 1, "{a},{b}: the line of {value:?} gives its figure away");
            }
        }
        let unknowns = table.iter().filter(|(_, w)| *w).count() + usize::from(total[0].1);
        assert_ne!(unknowns, 1, "{a},{b}: the total gives a figure away");
        assert!(withheld_anywhere, "{a},{b}: the fixture has small groups");
    }
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn service_accounts_get_groups_under_five_cases_withheld_never_as_zero(pool: PgPool) {
    let app = setup(pool).await;
    let token = service_token(&app, &["stats:read"]).await;
    let get = |path: &'static str| {
        let (app, token) = (&app, token.clone());
        async move {
            let response = app.get(path, Some(&token)).await;
            assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.text);
            response.body
        }
    };
    assert_eq!(
        get("/v1/stats/cases?group_by=canton").await,
        json!({ "groups": [
            { "canton": "BE", "count": 11 },
            { "canton": "ZH", "count": null, "suppressed": true },
            { "canton": null, "count": null, "suppressed": true },
        ]})
    );
    assert_eq!(
        get("/v1/stats/cases?group_by=destination_country").await["groups"],
        json!([
            { "destination_country": "GE", "count": null, "suppressed": true },
            { "destination_country": "IQ", "count": 10 },
            { "destination_country": "NG", "count": null, "suppressed": true },
            { "destination_country": "TR", "count": null, "suppressed": true },
        ])
    );
    // A total under five is withheld too.
    assert_eq!(
        get("/v1/stats/cases?canton=ZH").await["groups"],
        json!([{ "count": null, "suppressed": true }])
    );
    let withheld = json!({
        "departures": null, "persons": null, "adults": null, "minors": null,
        "startup_cash_rappen": null, "travel_money_rappen": null,
        "approved_reintegration_rappen": null, "suppressed": true,
    });
    let mut zh = withheld.clone();
    zh["canton"] = json!("ZH");
    let departures = get("/v1/stats/departures?group_by=canton&from=2026-01-01").await;
    assert_eq!(departures["groups"][0]["canton"], "BE");
    assert_eq!(departures["groups"][0]["departures"], 6);
    assert_eq!(departures["groups"][0]["startup_cash_rappen"], 800_000);
    assert_eq!(departures["groups"][1], zh);
    let pipeline = get("/v1/stats/pipeline?from=2026-01-01&to=2026-12-31").await;
    assert_eq!(
        pipeline["total"]["statuses"][0],
        json!({ "status": "counselling", "count": null, "suppressed": true })
    );
    assert_eq!(pipeline["total"]["statuses"][4], json!({ "status": "departed", "count": 7 }));
    assert_eq!(pipeline["total"]["submission_to_decision"]["cases"], 11);
    assert_eq!(pipeline["cantons"][0]["submission_to_decision"]["median_days"], 8.0);
    assert_eq!(
        pipeline["cantons"][1]["submission_to_decision"],
        json!({ "cases": null, "median_days": null, "p90_days": null, "suppressed": true })
    );
    let yearly = get("/v1/stats/yearly?year=2026").await;
    assert_eq!(yearly["departures"]["departures"], 9);
    assert_eq!(yearly["opened_cases"], json!({ "count": 14 }));
    assert_eq!(yearly["rejected_cases"], json!({ "count": null, "suppressed": true }));
    // Withheld cantons follow the others in the order of their codes, not of their sizes.
    let cantons = &yearly["cantons"];
    assert_eq!(cantons[0]["departures"], 6);
    assert_eq!(cantons[1]["canton"], Value::Null);
    assert_eq!(cantons[1]["suppressed"], true);
    assert_eq!(cantons[2], zh);
    assert_eq!(yearly["programmes"][0]["departures"], 7);
    assert_eq!(yearly["programmes"][1]["suppressed"], true);
}

// --- CSV, validation, the access log ------------------------------------------------------

fn csv_rows(response: &TestResponse) -> Vec<Vec<String>> {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.header("content-type"), Some("text/csv; charset=utf-8; header=present"));
    assert!(response.header("content-disposition").is_some_and(|d| d.starts_with("attachment")));
    assert!(response.text.ends_with("\r\n"), "RFC 4180 lines end in CRLF");
    assert_eq!(response.text.matches("\r\n").count(), response.text.lines().count());
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(response.text.as_bytes())
        .records()
        .map(|r| r.expect("well-formed CSV").iter().map(str::to_owned).collect())
        .collect()
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn csv_exports_have_a_header_row_and_are_logged_as_exports(pool: PgPool) {
    let app = setup(pool).await;
    let sem = app.login("sem@demo.test").await;
    let csv = [("accept", "text/csv")];
    let export = |path: &'static str| app.send(Method::GET, path, Some(&sem), None, &csv);
    let rows = csv_rows(&export("/v1/stats/cases?group_by=status,canton&canton=ZH").await);
    assert_eq!(
        rows,
        [
            ["status", "canton", "count", "suppressed"],
            ["counselling", "ZH", "1", "false"],
            ["departed", "ZH", "2", "false"],
            ["submitted", "ZH", "1", "false"],
        ]
    );
    let rows = csv_rows(&export("/v1/stats/departures?group_by=canton").await);
    assert_eq!(
        rows[0],
        [
            "canton",
            "departures",
            "persons",
            "adults",
            "minors",
            "startup_cash_rappen",
            "travel_money_rappen",
            "approved_reintegration_rappen",
            "suppressed"
        ]
    );
    assert_eq!(rows[3], ["", "1", "1", "1", "0", "50000", "10000", "0", "false"]);
    let rows = csv_rows(&export("/v1/stats/pipeline?from=2026-01-01&to=2026-12-31").await);
    assert_eq!(
        rows[0],
        ["level", "canton", "figure", "status", "cases", "median_days", "p90_days", "suppressed"]
    );
    assert_eq!(rows[1], ["total", "", "status", "counselling", "2", "", "", "false"]);
    assert!(
        rows.contains(
            &["canton", "BE", "submission_to_decision", "", "8", "8", "18.8", "false"]
                .map(String::from)
                .to_vec()
        )
    );
    let rows = csv_rows(&export("/v1/stats/yearly?year=2026").await);
    assert_eq!(rows[0][..3], ["section", "value", "count"]);
    assert_eq!(
        rows[1],
        ["departures", "", "9", "14", "11", "3", "1100000", "140000", "1400000", "false"]
    );
    assert_eq!(rows.last().expect("row")[..3], ["rejected_cases", "", "1"]);

    let exports = audit_events(&app, "stats.export").await;
    assert_eq!(exports.len(), 4);
    assert_eq!(
        exports[0],
        (
            "allowed".to_owned(),
            json!({ "report": "cases", "format": "csv", "rows": 3,
                    "parameters": { "group_by": "status,canton", "canton": "ZH" } })
        )
    );
    assert!(audit_events(&app, "stats.read").await.is_empty());
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn json_reads_are_logged_with_their_parameters_and_no_case_ids(pool: PgPool) {
    let app = setup(pool).await;
    get_ok(&app, "/v1/stats/departures?period=quarter&canton=BE", "iom@demo.test").await;
    let (outcome, details): (String, Value) = audit_events(&app, "stats.read").await.remove(0);
    assert_eq!(outcome, "allowed");
    assert_eq!(
        details,
        json!({ "report": "departures", "format": "json", "rows": 3,
                "parameters": { "period": "quarter", "canton": "BE" } })
    );
    let (resource_ids,): (Vec<Uuid>,) =
        sqlx::query_as("select resource_ids from audit_events where action = 'stats.read'")
            .fetch_one(&app.pool)
            .await
            .expect("event");
    assert!(resource_ids.is_empty());
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn invalid_parameters_are_refused_with_422_naming_each(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let sem = app.login("sem@demo.test").await;
    let fields = |response: TestResponse| -> Vec<(String, String)> {
        response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        response.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| {
                (
                    e["field"].as_str().unwrap_or("").to_owned(),
                    e["code"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter().map(|(f, c)| ((*f).to_owned(), (*c).to_owned())).collect()
    };
    assert_eq!(
        fields(
            app.get(
                "/v1/stats/cases?group_by=canton,colour&from=2026-02-30&to=2026-01-01&canton=XX&limit=3",
                Some(&sem)
            )
            .await
        ),
        pairs(&[
            ("group_by", "unknown_value"),
            ("from", "invalid_date"),
            ("canton", "invalid_value"),
            ("limit", "unknown_parameter"),
        ])
    );
    assert_eq!(
        fields(
            app.get("/v1/stats/cases?from=2026-03-01&to=2026-01-01&period=month", Some(&sem)).await
        ),
        pairs(&[("to", "before_from"), ("period", "unused")])
    );
    assert_eq!(
        fields(app.get("/v1/stats/departures?period_of=opened", Some(&sem)).await),
        pairs(&[("period_of", "unknown_parameter")])
    );
    assert_eq!(
        fields(app.get("/v1/stats/pipeline?status=approved&to=1969-12-31", Some(&sem)).await),
        pairs(&[("status", "unknown_parameter"), ("to", "out_of_range")])
    );
    assert_eq!(
        fields(app.get("/v1/stats/pipeline?from=2019-01-01&to=2026-12-31", Some(&sem)).await),
        pairs(&[("to", "range_too_long")])
    );
    assert_eq!(
        fields(app.get("/v1/stats/yearly", Some(&sem)).await),
        pairs(&[("year", "required")])
    );
    assert_eq!(
        fields(app.get("/v1/stats/yearly?year=2026&year=2025&top=51", Some(&sem)).await),
        pairs(&[("year", "repeated"), ("top", "out_of_range")])
    );
    assert!(audit_events(&app, "stats.read").await.is_empty(), "refused queries read nothing");
}

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn more_than_ten_thousand_groups_are_refused(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let be = institution(&app.pool, "Rückkehrberatung Kanton Bern").await;
    // 10,001 cases, each in its own (month, destination) group.
    sqlx::query(
        "insert into cases (id, reference, canton, counselling_service_id, counsellor_id, \
             created_by, programme, destination_country, created_at) \
         select gen_random_uuid(), 'T-' || i, 'BE', $1, u.id, u.id, 'cantonal', \
             (array['IQ','GE','NG','TR','AF','DZ','LK','UA','XK','TN'])[i % 10 + 1], \
             timestamptz '1980-01-15 10:00Z' + (i / 10) * interval '1 month' \
         from generate_series(0, 10000) i, users u where u.email = 'counsellor.be@demo.test'",
    )
    .bind(be)
    .execute(&app.pool)
    .await
    .expect("cases");
    let sem = app.login("sem@demo.test").await;
    app.get("/v1/stats/cases?group_by=period,destination_country", Some(&sem))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let by_year = app
        .get("/v1/stats/cases?group_by=period,destination_country&period=year", Some(&sem))
        .await;
    assert_eq!(by_year.status, StatusCode::OK, "{}", by_year.text);
    assert_eq!(by_year.body["groups"].as_array().map(Vec::len), Some(84 * 10));
}

// --- Keeping the figures current ----------------------------------------------------------

#[sqlx::test(migrator = "retour_store::MIGRATOR")]
async fn the_figures_follow_every_change_of_their_sources(pool: PgPool) {
    let app = setup(pool).await;
    let sem = "sem@demo.test";
    let drift = || async {
        let (n,): (i64,) = sqlx::query_as(
            "select count(*) from (select * from case_statistics_source \
             except select * from case_statistics) d",
        )
        .fetch_one(&app.pool)
        .await
        .expect("drift");
        n
    };
    assert_eq!(drift().await, 0);
    let ids = sqlx::query_as::<_, (Uuid,)>(
        "select id from cases where status = 'counselling' and destination_country = 'GE'",
    )
    .fetch_all(&app.pool)
    .await
    .expect("case 9");
    let case_9 = ids[0].0;
    sqlx::query("update cases set status = 'withdrawn' where id = $1")
        .bind(case_9)
        .execute(&app.pool)
        .await
        .expect("withdraw");
    sqlx::query(
        "update case_persons set residence_status = 'dublin' where case_id = $1 \
         and relationship = 'principal'",
    )
    .bind(case_9)
    .execute(&app.pool)
    .await
    .expect("residence status");
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=status,residence_status&status=withdrawn", sem)
            .await,
        json!([{ "status": "withdrawn", "residence_status": "dublin", "count": 1 }])
    );
    sqlx::query("delete from case_persons where case_id = $1")
        .bind(case_9)
        .execute(&app.pool)
        .await
        .expect("household");
    assert_eq!(
        groups(&app, "/v1/stats/cases?group_by=residence_status&status=withdrawn", sem).await,
        json!([{ "residence_status": null, "count": 1 }])
    );
    assert_eq!(drift().await, 0);
}
