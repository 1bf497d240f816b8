use chrono::{Duration, NaiveDate, Utc};
use retour_domain::statistics::{Dimension, Period, PeriodOf, Report};
use retour_domain::{Canton, CaseStatus};
use retour_store::stats::DateRange;

use crate::ApiError;

use super::*;

#[test]
fn the_document_states_the_years_and_the_top_the_parameters_accept() {
    let document = serde_json::to_value(crate::openapi()).expect("document");
    let parameter = |path: &str, name: &str| {
        document["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|all| all.iter().find(|p| p["name"] == name))
            .map(|p| p["schema"].clone())
            .unwrap_or_default()
    };
    let year = parameter("/v1/stats/yearly", "year");
    assert_eq!((year["minimum"].as_i64(), year["maximum"].as_i64()), (Some(1970), Some(2100)));
    assert_eq!(YEARS, 1970..=2100);
    let top = parameter("/v1/stats/yearly", "top");
    assert_eq!((top["minimum"].as_u64(), top["maximum"].as_u64()), (Some(1), Some(MAX_TOP as u64)));
    for path in ["/v1/stats/cases", "/v1/stats/departures", "/v1/stats/pipeline"] {
        for name in ["from", "to"] {
            // 1970–1999, 2000–2099, 2100: the years of YEARS.
            assert_eq!(parameter(path, name)["pattern"], "^(19[7-9][0-9]|20[0-9][0-9]|2100)-");
        }
    }
}

fn fields(result: Result<Params, ApiError>) -> Vec<(String, String)> {
    match result {
        Err(ApiError::Validation(errors)) => {
            errors.into_iter().map(|e| (e.field, e.code)).collect()
        }
        Err(other) => panic!("expected validation errors, got {other:?}"),
        Ok(_) => panic!("expected validation errors"),
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(f, c)| ((*f).to_owned(), (*c).to_owned())).collect()
}

#[test]
fn group_by_and_filters_take_comma_separated_or_repeated_values() {
    let params = Params::parse(
        Report::Cases,
        "group_by=canton,period&period=quarter&period_of=decided&canton=be,ZH&canton=BE\
         &status=approved&from=2026-01-01&to=2026-12-31",
    )
    .expect("valid");
    assert_eq!(params.dimensions, [Dimension::Canton, Dimension::Period]);
    assert_eq!(params.period, Period::Quarter);
    assert_eq!(params.period_of, PeriodOf::Decided);
    assert_eq!(params.filter.cantons, [Canton::Be, Canton::Zh]);
    assert_eq!(params.filter.statuses, [CaseStatus::Approved]);
    assert_eq!(params.given["canton"], "be,ZH,BE");
    assert_eq!(params.range.to, NaiveDate::from_ymd_opt(2026, 12, 31));
}

#[test]
fn every_bad_parameter_is_named() {
    assert_eq!(
        fields(Params::parse(
            Report::Cases,
            "group_by=canton,colour&period=week&period_of=born&from=2026-13-01&to=1850-01-01\
             &canton=XX&programme=other&destination_country=QQ&status=open\
             &residence_status=B&limit=5&group_by=canton",
        )),
        pairs(&[
            ("group_by", "unknown_value"),
            ("period", "unknown_value"),
            ("period_of", "unknown_value"),
            ("from", "invalid_date"),
            ("to", "out_of_range"),
            ("canton", "invalid_value"),
            ("programme", "unknown_value"),
            ("destination_country", "invalid_value"),
            ("status", "unknown_value"),
            ("residence_status", "unknown_value"),
            ("limit", "unknown_parameter"),
            ("group_by", "repeated"),
        ])
    );
}

#[test]
fn ranges_periods_and_years_are_checked_across_parameters() {
    assert_eq!(
        fields(Params::parse(Report::Cases, "from=2026-02-01&to=2026-01-31&period=year")),
        pairs(&[("to", "before_from"), ("period", "unused")])
    );
    assert_eq!(
        fields(Params::parse(Report::Cases, "period_of=opened&period_of=decided")),
        pairs(&[("period_of", "repeated")])
    );
    assert_eq!(
        fields(Params::parse(Report::Yearly, "top=0")),
        pairs(&[("top", "out_of_range"), ("year", "required")])
    );
    assert_eq!(
        fields(Params::parse(Report::Yearly, "year=20x6")),
        pairs(&[("year", "out_of_range")])
    );
    assert_eq!(
        fields(Params::parse(Report::Pipeline, "group_by=canton&status=approved")),
        pairs(&[("group_by", "unknown_parameter"), ("status", "unknown_parameter")])
    );
    let countries = [
        "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX",
        "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ",
        "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK",
        "CL", "CM", "CN", "CO", "CR", "CU",
    ];
    let query = |n: usize| format!("destination_country={}", countries[..n].join(","));
    assert!(Params::parse(Report::Cases, &query(MAX_VALUES)).is_ok());
    assert_eq!(
        fields(Params::parse(Report::Cases, &query(MAX_VALUES + 1))),
        pairs(&[("destination_country", "too_many_values")])
    );
}

#[test]
fn csv_quotes_fields_with_separators_quotes_and_line_breaks() {
    let rows = vec![
        vec!["BE".to_owned(), "Zürich, \"Nord\"".to_owned()],
        vec![String::new(), "two\nlines".to_owned()],
    ];
    let body = csv_body(&["canton", "note"], &rows).expect("csv");
    assert_eq!(
        String::from_utf8(body).expect("utf-8"),
        "canton,note\r\nBE,\"Zürich, \"\"Nord\"\"\"\r\n,\"two\nlines\"\r\n"
    );
}

#[test]
fn the_pipeline_counts_a_year_at_most() {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    let range = |query: &str| Params::parse(Report::Pipeline, query).map(|p| p.range);
    let leap_year = range("from=2028-01-01&to=2028-12-31").expect("366 days");
    assert_eq!(leap_year, DateRange { from: day(2028, 1, 1), to: day(2028, 12, 31) });
    assert_eq!(range("from=2026-03-01").expect("from").to, day(2027, 2, 28), "365 days from from");
    assert_eq!(range("to=2026-12-31").expect("to").from, day(2026, 1, 1));
    let today = Utc::now().date_naive();
    assert_eq!(
        range("").expect("default"),
        DateRange { from: Some(today - Duration::days(364)), to: Some(today) }
    );
    assert_eq!(
        fields(Params::parse(Report::Pipeline, "from=2026-01-01&to=2027-01-02")),
        pairs(&[("to", "range_too_long")])
    );
}

#[test]
fn departures_group_by_period_destination_and_canton_by_default() {
    let params = Params::parse(Report::Departures, "period=year").expect("valid");
    assert_eq!(
        params.dimensions,
        [Dimension::Period, Dimension::DestinationCountry, Dimension::Canton]
    );
    assert_eq!(params.period, Period::Year);
    let total = Params::parse(Report::Departures, "group_by=").expect("valid");
    assert!(total.dimensions.is_empty());
}
