//! Aggregate figures for the statistics: case counts, departures with persons and amounts,
//! the pipeline's statuses and durations.
//!
//! Every query reads `case_statistics`, one narrow row per case that triggers keep current
//! (see its migration), and is limited to the reader's [`StatisticsScope`] in SQL. Grouping
//! and filter columns are fixed strings chosen by enums; every value is bound. Dates are
//! calendar days in Switzerland. Only sums leave the database, never a case. They leave as
//! the domain's typed rows (`retour_domain::statistics::rows`), which the reports are
//! worked out from; a stored code that does not parse is [`StoreError::Corrupt`].

use chrono::NaiveDate;
use retour_domain::case::Programme;
use retour_domain::person::ResidenceStatus;
use retour_domain::statistics::rows::{
    DepartureBreakdowns, DepartureFigures, Durations, DurationsByCanton, Group, GroupKey,
    PipelineDurations, StatusCount, Throughput,
};
use retour_domain::statistics::{Dimension, Period, PeriodOf, StatisticsScope};
use retour_domain::{Canton, CaseStatus, CountryCode, Rappen};
use sqlx::{FromRow, Postgres, QueryBuilder};

use crate::{Store, StoreError};

/// Memory for the sorts and hashes of one report (the server default spills to disk on a
/// year of a large installation's cases).
const REPORT_WORK_MEM: &str = "set local work_mem = '32MB'";

/// Which cases a report counts, besides the reader's scope. An empty list does not filter;
/// a list keeps cases with any of its values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsFilter {
    pub cantons: Vec<Canton>,
    pub programmes: Vec<Programme>,
    pub destination_countries: Vec<CountryCode>,
    pub statuses: Vec<CaseStatus>,
    pub residence_statuses: Vec<ResidenceStatus>,
}

/// Calendar days, both inclusive; open where `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateRange {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// How case counts are grouped: by `dimensions`, in this order, and a `Period` dimension
/// is the `period` of the `period_of` date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    pub dimensions: Vec<Dimension>,
    pub period: Period,
    pub period_of: PeriodOf,
}

/// The key columns of a group, as stored; [`KeyRow::typed`] reads them.
#[derive(FromRow)]
struct KeyRow {
    canton: Option<String>,
    programme: Option<String>,
    destination_country: Option<String>,
    status: Option<String>,
    residence_status: Option<String>,
    period_start: Option<NaiveDate>,
}

/// A stored code, parsed; one that does not parse is corrupt.
fn typed<T>(
    column: &'static str,
    value: Option<String>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, StoreError> {
    value.map(|v| parse(&v).ok_or_else(|| StoreError::corrupt(column, &v))).transpose()
}

/// A code that a group of its dimension always has.
fn required<T>(column: &'static str, value: Option<T>) -> Result<T, StoreError> {
    value.ok_or_else(|| StoreError::corrupt(column, ""))
}

impl KeyRow {
    fn typed(self) -> Result<GroupKey, StoreError> {
        Ok(GroupKey {
            canton: typed("case_statistics.canton", self.canton, Canton::parse)?,
            programme: typed("case_statistics.programme", self.programme, Programme::parse)?,
            destination_country: typed(
                "case_statistics.destination_country",
                self.destination_country,
                CountryCode::parse,
            )?,
            status: typed("case_statistics.status", self.status, CaseStatus::parse)?,
            residence_status: typed(
                "case_statistics.residence_status",
                self.residence_status,
                ResidenceStatus::parse,
            )?,
            period_start: self.period_start,
        })
    }
}

/// The sums of [`DEPARTURE_SUMS`].
#[derive(FromRow)]
struct SumsRow {
    departures: i64,
    persons: i64,
    adults: i64,
    minors: i64,
    startup_cash_rappen: i64,
    travel_money_rappen: i64,
    approved_reintegration_rappen: i64,
}

impl From<SumsRow> for DepartureFigures {
    fn from(row: SumsRow) -> Self {
        DepartureFigures {
            departures: row.departures,
            persons: row.persons,
            adults: row.adults,
            minors: row.minors,
            startup_cash: Rappen::new(row.startup_cash_rappen),
            travel_money: Rappen::new(row.travel_money_rappen),
            approved_reintegration: Rappen::new(row.approved_reintegration_rappen),
        }
    }
}

#[derive(FromRow)]
struct CountRow {
    #[sqlx(flatten)]
    key: KeyRow,
    cases: i64,
}

#[derive(FromRow)]
struct DepartureRow {
    #[sqlx(flatten)]
    key: KeyRow,
    #[sqlx(flatten)]
    sums: SumsRow,
}

#[derive(FromRow)]
struct DurationRow {
    total: bool,
    canton: Option<String>,
    decided_cases: i64,
    submission_to_decision: Option<Vec<f64>>,
    departed_cases: i64,
    decision_to_departure: Option<Vec<f64>>,
}

/// The column of the date that `period_of` refers to.
fn date_column(period_of: PeriodOf) -> &'static str {
    match period_of {
        PeriodOf::Opened => "s.opened_on",
        PeriodOf::Decided => "s.decided_on",
        PeriodOf::Departed => "s.departed_on",
    }
}

/// The SQL expression of a dimension (`Period`: the first day of the period of `date`).
fn dimension_sql(dimension: Dimension, period: Period, date: &'static str) -> String {
    match dimension {
        Dimension::Canton => "s.canton".to_owned(),
        Dimension::Programme => "s.programme".to_owned(),
        Dimension::DestinationCountry => "s.destination_country".to_owned(),
        Dimension::Status => "s.status".to_owned(),
        Dimension::ResidenceStatus => "s.residence_status".to_owned(),
        Dimension::Period => {
            let unit = match period {
                Period::Month => "month",
                Period::Quarter => "quarter",
                Period::Year => "year",
            };
            format!("date_trunc('{unit}', {date}::timestamp)::date")
        }
    }
}

/// The key columns of [`GroupKey`], in its order: the expressions of `dimensions`, `null`
/// for the others.
fn push_keys(
    qb: &mut QueryBuilder<Postgres>,
    dimensions: &[Dimension],
    period: Period,
    date: &'static str,
) {
    const KEYS: [(Dimension, &str, &str); 6] = [
        (Dimension::Canton, "canton", "text"),
        (Dimension::Programme, "programme", "text"),
        (Dimension::DestinationCountry, "destination_country", "text"),
        (Dimension::Status, "status", "text"),
        (Dimension::ResidenceStatus, "residence_status", "text"),
        (Dimension::Period, "period_start", "date"),
    ];
    for (i, (dimension, name, sql_type)) in KEYS.into_iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        if dimensions.contains(&dimension) {
            qb.push(dimension_sql(dimension, period, date));
        } else {
            qb.push("null::").push(sql_type);
        }
        qb.push(" as ").push(name);
    }
}

/// ` group by … order by …` over `dimensions` (in their order, empty values last).
fn push_group_order(
    qb: &mut QueryBuilder<Postgres>,
    dimensions: &[Dimension],
    period: Period,
    date: &'static str,
) {
    if dimensions.is_empty() {
        return;
    }
    let sql: Vec<String> = dimensions.iter().map(|d| dimension_sql(*d, period, date)).collect();
    qb.push(" group by ").push(sql.join(", "));
    // Codes sort by their bytes, whatever the database's collation.
    let order: Vec<String> = dimensions
        .iter()
        .zip(&sql)
        .map(|(d, sql)| match d {
            Dimension::Period => format!("{sql} nulls last"),
            _ => format!("{sql} collate \"C\" nulls last"),
        })
        .collect();
    qb.push(" order by ").push(order.join(", "));
}

/// ` where …`: the scope, the filter, and `range` on `date`; with `required`, only cases
/// that have the date.
fn push_where(
    qb: &mut QueryBuilder<Postgres>,
    scope: StatisticsScope,
    filter: &StatsFilter,
    date: &'static str,
    required: bool,
    range: DateRange,
) {
    qb.push(" where true");
    match scope {
        StatisticsScope::All => {}
        StatisticsScope::OwnService(id) => {
            qb.push(" and s.counselling_service_id = ").push_bind(id);
        }
        StatisticsScope::AssignedMission(id) => {
            qb.push(" and s.reintegration_mission_id = ").push_bind(id);
        }
    }
    fn any(qb: &mut QueryBuilder<Postgres>, column: &str, values: Vec<&'static str>) {
        if !values.is_empty() {
            qb.push(" and ").push(column).push(" = any(").push_bind(values).push(")");
        }
    }
    any(qb, "s.canton", filter.cantons.iter().map(|c| c.code()).collect());
    any(qb, "s.programme", filter.programmes.iter().map(|p| p.as_str()).collect());
    any(
        qb,
        "s.destination_country",
        filter.destination_countries.iter().map(|c| c.as_str()).collect(),
    );
    any(qb, "s.status", filter.statuses.iter().map(|s| s.as_str()).collect());
    any(qb, "s.residence_status", filter.residence_statuses.iter().map(|r| r.as_str()).collect());
    if required {
        qb.push(" and ").push(date).push(" is not null");
    }
    if let Some(from) = range.from {
        qb.push(" and ").push(date).push(" >= ").push_bind(from);
    }
    if let Some(to) = range.to {
        qb.push(" and ").push(date).push(" <= ").push_bind(to);
    }
}

const DEPARTURE_SUMS: &str = "count(*) as departures, \
    coalesce(sum(s.persons), 0)::bigint as persons, \
    coalesce(sum(s.adults), 0)::bigint as adults, \
    coalesce(sum(s.minors), 0)::bigint as minors, \
    coalesce(sum(s.startup_cash_rappen), 0)::bigint as startup_cash_rappen, \
    coalesce(sum(s.travel_money_rappen), 0)::bigint as travel_money_rappen, \
    coalesce(sum(s.approved_reintegration_rappen), 0)::bigint as approved_reintegration_rappen";

/// A read-only transaction with the memory of a report.
async fn report(store: &Store) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
    let mut tx = store.pool().begin().await?;
    sqlx::query("set transaction read only").execute(&mut *tx).await?;
    sqlx::query(REPORT_WORK_MEM).execute(&mut *tx).await?;
    Ok(tx)
}

impl Store {
    /// Case counts within `scope` matching `filter`, grouped, with `range` on the
    /// `period_of` date; at most `max_groups + 1` groups (one more tells the caller there
    /// are too many). Without dimensions, one group: the total. Grouped by period of the
    /// decision or the departure, or counted by their date, only decided (departed) cases
    /// count.
    pub async fn count_cases(
        &self,
        scope: StatisticsScope,
        filter: &StatsFilter,
        grouping: &Grouping,
        range: DateRange,
        max_groups: u32,
    ) -> Result<Vec<Group<i64>>, StoreError> {
        let date = date_column(grouping.period_of);
        let mut qb = QueryBuilder::new("select ");
        push_keys(&mut qb, &grouping.dimensions, grouping.period, date);
        qb.push(", count(*) as cases from case_statistics s");
        push_where(&mut qb, scope, filter, date, grouping.period_of != PeriodOf::Opened, range);
        push_group_order(&mut qb, &grouping.dimensions, grouping.period, date);
        qb.push(" limit ").push_bind(i64::from(max_groups) + 1);
        let mut tx = report(self).await?;
        let rows: Vec<CountRow> = qb.build_query_as().fetch_all(&mut *tx).await?;
        rows.into_iter()
            .map(|row| Ok(Group { key: row.key.typed()?, figures: row.cases }))
            .collect()
    }

    /// Departures within `scope` matching `filter`, grouped by `dimensions` (`Period`: of
    /// the departure day) and with `range` on the departure day; at most `max_groups + 1`
    /// groups.
    pub async fn departures(
        &self,
        scope: StatisticsScope,
        filter: &StatsFilter,
        dimensions: &[Dimension],
        period: Period,
        range: DateRange,
        max_groups: u32,
    ) -> Result<Vec<Group<DepartureFigures>>, StoreError> {
        let date = date_column(PeriodOf::Departed);
        let mut qb = QueryBuilder::new("select ");
        push_keys(&mut qb, dimensions, period, date);
        qb.push(", ").push(DEPARTURE_SUMS).push(" from case_statistics s");
        push_where(&mut qb, scope, filter, date, true, range);
        push_group_order(&mut qb, dimensions, period, date);
        qb.push(" limit ").push_bind(i64::from(max_groups) + 1);
        let mut tx = report(self).await?;
        let rows: Vec<DepartureRow> = qb.build_query_as().fetch_all(&mut *tx).await?;
        rows.into_iter()
            .map(|row| Ok(Group { key: row.key.typed()?, figures: row.sums.into() }))
            .collect()
    }

    /// The departures of `range`: in total, and by destination, by canton and by programme,
    /// in one pass. Each breakdown is ordered by departures, most first.
    pub async fn departure_breakdowns(
        &self,
        scope: StatisticsScope,
        filter: &StatsFilter,
        range: DateRange,
    ) -> Result<DepartureBreakdowns, StoreError> {
        #[derive(FromRow)]
        struct Row {
            by: Option<String>,
            #[sqlx(flatten)]
            key: KeyRow,
            #[sqlx(flatten)]
            sums: SumsRow,
        }
        let dimensions = [Dimension::DestinationCountry, Dimension::Canton, Dimension::Programme];
        let date = date_column(PeriodOf::Departed);
        let mut qb = QueryBuilder::new("select case");
        for dimension in &dimensions {
            qb.push(" when grouping(")
                .push(dimension_sql(*dimension, Period::Year, date))
                .push(") = 0 then '")
                .push(dimension.as_str())
                .push("'");
        }
        qb.push(" end as by, ");
        push_keys(&mut qb, &dimensions, Period::Year, date);
        qb.push(", ").push(DEPARTURE_SUMS).push(" from case_statistics s");
        push_where(&mut qb, scope, filter, date, true, range);
        qb.push(" group by grouping sets (()");
        for dimension in &dimensions {
            qb.push(", (").push(dimension_sql(*dimension, Period::Year, date)).push(")");
        }
        qb.push(") order by 1 nulls first, departures desc, 2, 3, 4, 5, 6");
        let mut tx = report(self).await?;
        let rows: Vec<Row> = qb.build_query_as().fetch_all(&mut *tx).await?;
        // With no departure at all, the total is a line of zeros.
        let mut breakdowns = DepartureBreakdowns::default();
        for row in rows {
            let key = row.key.typed()?;
            let figures = DepartureFigures::from(row.sums);
            let by = row.by.as_deref().map(|name| {
                Dimension::parse(name).ok_or_else(|| StoreError::corrupt("grouping", name))
            });
            match by.transpose()? {
                None => breakdowns.total = figures,
                Some(Dimension::DestinationCountry) => {
                    let column = "case_statistics.destination_country";
                    let country = required(column, key.destination_country)?;
                    breakdowns.destinations.push((country, figures));
                }
                Some(Dimension::Canton) => breakdowns.cantons.push((key.canton, figures)),
                Some(Dimension::Programme) => {
                    let programme = required("case_statistics.programme", key.programme)?;
                    breakdowns.programmes.push((programme, figures));
                }
                Some(other) => return Err(StoreError::corrupt("grouping", other.as_str())),
            }
        }
        Ok(breakdowns)
    }

    /// Cases opened, approved and rejected within `range`.
    pub async fn throughput(
        &self,
        scope: StatisticsScope,
        filter: &StatsFilter,
        range: DateRange,
    ) -> Result<Throughput, StoreError> {
        let within = |qb: &mut QueryBuilder<Postgres>, column: &str| {
            qb.push(column).push(" is not null");
            if let Some(from) = range.from {
                qb.push(" and ").push(column).push(" >= ").push_bind(from);
            }
            if let Some(to) = range.to {
                qb.push(" and ").push(column).push(" <= ").push_bind(to);
            }
        };
        let mut qb = QueryBuilder::new("select count(*) filter (where ");
        within(&mut qb, "s.opened_on");
        qb.push(") as opened, count(*) filter (where s.decision = 'approved' and ");
        within(&mut qb, "s.decided_on");
        qb.push(") as approved, count(*) filter (where s.decision = 'rejected' and ");
        within(&mut qb, "s.decided_on");
        qb.push(") as rejected from case_statistics s");
        push_where(&mut qb, scope, filter, "s.opened_on", false, DateRange::default());
        qb.push(" and ((");
        within(&mut qb, "s.opened_on");
        qb.push(") or (");
        within(&mut qb, "s.decided_on");
        qb.push("))");
        let mut tx = report(self).await?;
        let (opened, approved, rejected) = qb.build_query_as().fetch_one(&mut *tx).await?;
        Ok(Throughput { opened, approved, rejected })
    }

    /// The cases within `scope` matching `filter` by canton and status now.
    pub async fn status_counts(
        &self,
        scope: StatisticsScope,
        filter: &StatsFilter,
    ) -> Result<Vec<StatusCount>, StoreError> {
        let mut qb = QueryBuilder::new(
            "select s.canton, s.status, count(*) as cases from case_statistics s",
        );
        push_where(&mut qb, scope, filter, "s.opened_on", false, DateRange::default());
        qb.push(" group by s.canton, s.status order by s.canton nulls last, s.status");
        let mut tx = report(self).await?;
        let rows: Vec<(Option<String>, String, i64)> =
            qb.build_query_as().fetch_all(&mut *tx).await?;
        rows.into_iter()
            .map(|(canton, status, cases)| {
                Ok(StatusCount {
                    canton: typed("case_statistics.canton", canton, Canton::parse)?,
                    status: CaseStatus::parse(&status)
                        .ok_or_else(|| StoreError::corrupt("case_statistics.status", &status))?,
                    cases,
                })
            })
            .collect()
    }

    /// Median and 90th percentile of the days from submission to decision (of the
    /// decisions within `range`) and from decision to departure (of the departures within
    /// `range`), per canton and in total.
    pub async fn pipeline_durations(
        &self,
        scope: StatisticsScope,
        filter: &StatsFilter,
        range: DateRange,
    ) -> Result<DurationsByCanton, StoreError> {
        let within = |qb: &mut QueryBuilder<Postgres>, column: &str| {
            qb.push(column).push(" is not null");
            if let Some(from) = range.from {
                qb.push(" and ").push(column).push(" >= ").push_bind(from);
            }
            if let Some(to) = range.to {
                qb.push(" and ").push(column).push(" <= ").push_bind(to);
            }
        };
        let decided = |qb: &mut QueryBuilder<Postgres>| {
            qb.push("s.submitted_at is not null and ");
            within(qb, "s.decided_on");
        };
        let departed = |qb: &mut QueryBuilder<Postgres>| within(qb, "s.departed_on");
        const SUBMISSION_TO_DECISION: &str =
            "(extract(epoch from s.decided_at - s.submitted_at) / 86400)::float8";
        const DECISION_TO_DEPARTURE: &str =
            "(extract(epoch from s.departed_at - s.decided_at) / 86400)::float8";
        let mut qb = QueryBuilder::new(
            "select grouping(s.canton) = 1 as total, s.canton, count(*) filter (where ",
        );
        decided(&mut qb);
        qb.push(") as decided_cases, percentile_cont(array[0.5, 0.9]) within group (order by ")
            .push(SUBMISSION_TO_DECISION)
            .push(") filter (where ");
        decided(&mut qb);
        qb.push(") as submission_to_decision, count(*) filter (where ");
        departed(&mut qb);
        qb.push(") as departed_cases, percentile_cont(array[0.5, 0.9]) within group (order by ")
            .push(DECISION_TO_DEPARTURE)
            .push(") filter (where ");
        departed(&mut qb);
        qb.push(") as decision_to_departure from case_statistics s");
        push_where(&mut qb, scope, filter, "s.decided_on", true, DateRange::default());
        qb.push(" and ((");
        decided(&mut qb);
        qb.push(") or (");
        departed(&mut qb);
        qb.push(")) group by grouping sets ((), (s.canton)) order by 1 desc, 2 nulls last");
        let mut tx = report(self).await?;
        let rows: Vec<DurationRow> = qb.build_query_as().fetch_all(&mut *tx).await?;
        let durations = |cases: i64, quantiles: Option<Vec<f64>>| {
            let quantiles = quantiles.unwrap_or_default();
            Durations {
                cases,
                median_days: quantiles.first().copied(),
                p90_days: quantiles.get(1).copied(),
            }
        };
        // With no decision nor departure at all, the total is a line of no cases.
        let mut all = DurationsByCanton::default();
        for row in rows {
            let durations = PipelineDurations {
                submission_to_decision: durations(row.decided_cases, row.submission_to_decision),
                decision_to_departure: durations(row.departed_cases, row.decision_to_departure),
            };
            if row.total {
                all.total = durations;
            } else {
                let canton = typed("case_statistics.canton", row.canton, Canton::parse)?;
                all.cantons.push((canton, durations));
            }
        }
        Ok(all)
    }
}
