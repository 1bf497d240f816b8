//! Tariff versions and the dated destination lists (visa-exempt, suspended). Rows are only
//! ever added; a new tariff version closes the open one of the same tariff from its own
//! start. The database refuses every other change (see the tariffs migration).

use chrono::{DateTime, NaiveDate, Utc};
use retour_domain::Rappen;
use retour_domain::assistance::{
    AssistanceComponent, PersonCategory, ProcedurePhase, Programme, TariffBasis, TariffRate,
};
use retour_domain::entitlement::Destination;
use retour_domain::tariff::Tariff;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::{Store, StoreError};

/// A stored tariff version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TariffVersion {
    pub id: Uuid,
    pub tariff: Tariff,
    pub created_at: DateTime<Utc>,
    /// The administrator who added it; `None` for the versions seeded by the migration.
    pub created_by: Option<Uuid>,
}

/// The outcome of adding a tariff version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddedTariff {
    Added(TariffVersion),
    /// A version of the same tariff starts on or after the new one's `valid_from`.
    NotAfterLatest {
        latest_valid_from: NaiveDate,
    },
}

/// A country on the visa-exempt list for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisaExemption {
    pub id: Uuid,
    pub country: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub source: String,
}

/// A suspension of return assistance for a country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    pub id: Uuid,
    pub country: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub reason: String,
}

/// Both destination lists as they stand on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationRules {
    pub visa_exempt: Vec<VisaExemption>,
    pub suspended: Vec<Suspension>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    programme: String,
    component: String,
    person_category: Option<String>,
    phase: Option<String>,
    rate: String,
    amount_rappen: Option<i64>,
    basis: String,
    family_cap_rappen: Option<i64>,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
    is_example: bool,
    source: String,
    created_at: DateTime<Utc>,
    created_by: Option<Uuid>,
}

fn parse<T>(
    column: &'static str,
    value: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(value).ok_or_else(|| StoreError::corrupt(column, value))
}

impl TryFrom<Row> for TariffVersion {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        let tariff = Tariff {
            programme: parse("tariffs.programme", &row.programme, Programme::parse)?,
            component: parse("tariffs.component", &row.component, AssistanceComponent::parse)?,
            person_category: row
                .person_category
                .as_deref()
                .map(|c| parse("tariffs.person_category", c, PersonCategory::parse))
                .transpose()?,
            phase: row
                .phase
                .as_deref()
                .map(|p| parse("tariffs.phase", p, ProcedurePhase::parse))
                .transpose()?,
            rate: parse("tariffs.rate", &row.rate, TariffRate::parse)?,
            amount_rappen: row.amount_rappen.map(Rappen::new),
            basis: parse("tariffs.basis", &row.basis, TariffBasis::parse)?,
            family_cap_rappen: row.family_cap_rappen.map(Rappen::new),
            valid_from: row.valid_from,
            valid_to: row.valid_to,
            is_example: row.is_example,
            source: row.source,
        };
        Ok(TariffVersion {
            id: row.id,
            tariff,
            created_at: row.created_at,
            created_by: row.created_by,
        })
    }
}

const COLUMNS: &str = "id, programme, component, person_category, phase, rate, amount_rappen, \
    basis, family_cap_rappen, valid_from, valid_to, is_example, source, created_at, created_by";

/// Components in the order of the domain, then the rows of one component in a fixed order.
const ORDER: &str = "order by programme, \
    array_position(array['startup_cash', 'reintegration_project', 'medical', 'travel_money', \
        'travel_costs'], component), \
    phase nulls first, basis, person_category nulls last, rate desc, valid_from";

/// Selects the versions of one tariff (its key), with $1…$5 bound to the key's columns.
const SAME_KEY: &str = "programme = $1 and component = $2 \
    and person_category is not distinct from $3 and phase is not distinct from $4 and rate = $5";

impl Store {
    /// Today's date in Switzerland by the database clock: the same for every server process,
    /// and the day the database uses to keep the past unchanged.
    pub async fn swiss_today(&self) -> Result<NaiveDate, StoreError> {
        let (today,): (NaiveDate,) =
            sqlx::query_as("select swiss_today()").fetch_one(self.pool()).await?;
        Ok(today)
    }

    /// The tariff versions that apply on `on`, of one programme or all.
    pub async fn tariffs_on(
        &self,
        programme: Option<Programme>,
        on: NaiveDate,
    ) -> Result<Vec<TariffVersion>, StoreError> {
        tariffs_on(self.pool(), programme, on).await
    }

    /// Adds a new version of a tariff, valid from `tariff.valid_from` (which the caller has
    /// checked is today or later). The open version of the same tariff is closed on that day;
    /// a new version must start after every existing one. `event` is recorded in the same
    /// transaction, with the new version as its resource.
    pub async fn add_tariff_version(
        &self,
        tariff: &Tariff,
        created_by: Uuid,
        event: &AuditEvent,
    ) -> Result<AddedTariff, StoreError> {
        let mut tx = self.pool().begin().await?;
        // Serialises concurrent additions to the same tariff, also when it has no version yet.
        let lock_key = format!(
            "tariffs/{}/{}/{}/{}/{}",
            tariff.programme,
            tariff.component,
            tariff.person_category.map_or("", PersonCategory::as_str),
            tariff.phase.map_or("", ProcedurePhase::as_str),
            tariff.rate
        );
        sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(&lock_key)
            .execute(&mut *tx)
            .await?;
        let sql = format!("select max(valid_from) from tariffs where {SAME_KEY}");
        let (latest,): (Option<NaiveDate>,) =
            bind_key(sqlx::query_as(sqlx::AssertSqlSafe(sql)), tariff).fetch_one(&mut *tx).await?;
        if let Some(latest) = latest.filter(|latest| *latest >= tariff.valid_from) {
            return Ok(AddedTariff::NotAfterLatest { latest_valid_from: latest });
        }
        let sql = format!("update tariffs set valid_to = $6 where {SAME_KEY} and valid_to is null");
        bind_key(sqlx::query(sqlx::AssertSqlSafe(sql)), tariff)
            .bind(tariff.valid_from)
            .execute(&mut *tx)
            .await?;
        let id = Uuid::now_v7();
        let sql = format!(
            "insert into tariffs (id, programme, component, person_category, phase, rate, \
                 amount_rappen, basis, family_cap_rappen, valid_from, is_example, source, \
                 created_by) \
             values ($6, $1, $2, $3, $4, $5, $7, $8, $9, $10, $11, $12, $13) \
             returning {COLUMNS}"
        );
        let row: Row = bind_key(sqlx::query_as(sqlx::AssertSqlSafe(sql)), tariff)
            .bind(id)
            .bind(tariff.amount_rappen.map(Rappen::get))
            .bind(tariff.basis.as_str())
            .bind(tariff.family_cap_rappen.map(Rappen::get))
            .bind(tariff.valid_from)
            .bind(tariff.is_example)
            .bind(&tariff.source)
            .bind(created_by)
            .fetch_one(&mut *tx)
            .await?;
        audit::record(&mut *tx, &event.clone().resource("tariff", id)).await?;
        tx.commit().await?;
        Ok(AddedTariff::Added(row.try_into()?))
    }

    /// The visa-exempt and suspended destinations on `on`, by country.
    pub async fn destination_rules_on(
        &self,
        on: NaiveDate,
    ) -> Result<DestinationRules, StoreError> {
        let visa_exempt: Vec<(Uuid, String, NaiveDate, Option<NaiveDate>, String)> =
            sqlx::query_as(
                "select id, country, valid_from, valid_to, source from visa_exempt_countries \
                 where valid_from <= $1 and (valid_to is null or valid_to > $1) order by country",
            )
            .bind(on)
            .fetch_all(self.pool())
            .await?;
        let suspended: Vec<(Uuid, String, NaiveDate, Option<NaiveDate>, String)> = sqlx::query_as(
            "select id, country, valid_from, valid_to, reason from suspended_destinations \
                 where valid_from <= $1 and (valid_to is null or valid_to > $1) order by country",
        )
        .bind(on)
        .fetch_all(self.pool())
        .await?;
        Ok(DestinationRules {
            visa_exempt: visa_exempt
                .into_iter()
                .map(|(id, country, valid_from, valid_to, source)| VisaExemption {
                    id,
                    country,
                    valid_from,
                    valid_to,
                    source,
                })
                .collect(),
            suspended: suspended
                .into_iter()
                .map(|(id, country, valid_from, valid_to, reason)| Suspension {
                    id,
                    country,
                    valid_from,
                    valid_to,
                    reason,
                })
                .collect(),
        })
    }

    /// A destination country (ISO 3166-1 alpha-2) with its status on `on`, as the
    /// entitlement calculation takes it.
    pub async fn destination_on(
        &self,
        country: &str,
        on: NaiveDate,
    ) -> Result<Destination, StoreError> {
        destination_on(self.pool(), country, on).await
    }
}

/// Today's date in Switzerland by the database clock (see [`Store::swiss_today`]).
pub async fn swiss_today(db: impl PgExecutor<'_>) -> Result<NaiveDate, StoreError> {
    let (today,): (NaiveDate,) = sqlx::query_as("select swiss_today()").fetch_one(db).await?;
    Ok(today)
}

/// The tariff versions that apply on `on`, of one programme or all; on any connection, e.g.
/// within the transaction of an approval.
pub async fn tariffs_on(
    db: impl PgExecutor<'_>,
    programme: Option<Programme>,
    on: NaiveDate,
) -> Result<Vec<TariffVersion>, StoreError> {
    let sql = format!(
        "select {COLUMNS} from tariffs \
         where valid_from <= $1 and (valid_to is null or valid_to > $1) \
           and ($2::text is null or programme = $2) \
         {ORDER}"
    );
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(on)
        .bind(programme.map(Programme::as_str))
        .fetch_all(db)
        .await?;
    rows.into_iter().map(TariffVersion::try_from).collect()
}

/// A destination country with its status on `on`; on any connection.
pub async fn destination_on(
    db: impl PgExecutor<'_>,
    country: &str,
    on: NaiveDate,
) -> Result<Destination, StoreError> {
    let (visa_exempt, suspension): (bool, Option<String>) = sqlx::query_as(
        "select exists (select 1 from visa_exempt_countries \
                 where country = $1 and valid_from <= $2 \
                   and (valid_to is null or valid_to > $2)), \
             (select reason from suspended_destinations \
                 where country = $1 and valid_from <= $2 \
                   and (valid_to is null or valid_to > $2))",
    )
    .bind(country)
    .bind(on)
    .fetch_one(db)
    .await?;
    Ok(Destination { country: country.to_owned(), visa_exempt, suspension })
}

/// Binds the columns of a tariff's key as $1…$5 (see [`SAME_KEY`]).
fn bind_key<'q, Q: BindKey<'q>>(query: Q, tariff: &Tariff) -> Q {
    query
        .bind_text(tariff.programme.as_str())
        .bind_text(tariff.component.as_str())
        .bind_opt_text(tariff.person_category.map(PersonCategory::as_str))
        .bind_opt_text(tariff.phase.map(ProcedurePhase::as_str))
        .bind_text(tariff.rate.as_str())
}

/// `bind` for both kinds of query, so the key is bound in one place.
trait BindKey<'q>: Sized {
    fn bind_text(self, value: &'static str) -> Self;
    fn bind_opt_text(self, value: Option<&'static str>) -> Self;
}

impl<'q> BindKey<'q> for sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    fn bind_text(self, value: &'static str) -> Self {
        self.bind(value)
    }
    fn bind_opt_text(self, value: Option<&'static str>) -> Self {
        self.bind(value)
    }
}

impl<'q, O> BindKey<'q>
    for sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>
{
    fn bind_text(self, value: &'static str) -> Self {
        self.bind(value)
    }
    fn bind_opt_text(self, value: Option<&'static str>) -> Self {
        self.bind(value)
    }
}
