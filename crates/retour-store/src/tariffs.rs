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

impl Store {
    /// Today's date in Switzerland by the database clock: the same for every server process,
    /// and the day the database uses to keep the past unchanged.
    pub async fn swiss_today(&self) -> Result<NaiveDate, StoreError> {
        swiss_today(self.pool()).await
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
        sqlx::query!("select pg_advisory_xact_lock(hashtextextended($1, 0))", lock_key)
            .execute(&mut *tx)
            .await?;
        // The tariff's key: the versions of one tariff share these.
        let (programme, component, rate) =
            (tariff.programme.as_str(), tariff.component.as_str(), tariff.rate.as_str());
        let category = tariff.person_category.map(PersonCategory::as_str);
        let phase = tariff.phase.map(ProcedurePhase::as_str);
        let latest = sqlx::query_scalar!(
            "select max(valid_from) from tariffs \
             where programme = $1 and component = $2 and person_category is not distinct from $3 \
               and phase is not distinct from $4 and rate = $5",
            programme,
            component,
            category,
            phase,
            rate,
        )
        .fetch_one(&mut *tx)
        .await?;
        if let Some(latest) = latest.filter(|latest| *latest >= tariff.valid_from) {
            return Ok(AddedTariff::NotAfterLatest { latest_valid_from: latest });
        }
        sqlx::query!(
            "update tariffs set valid_to = $6 \
             where programme = $1 and component = $2 and person_category is not distinct from $3 \
               and phase is not distinct from $4 and rate = $5 and valid_to is null",
            programme,
            component,
            category,
            phase,
            rate,
            tariff.valid_from,
        )
        .execute(&mut *tx)
        .await?;
        let id = Uuid::now_v7();
        let row = sqlx::query_as!(
            Row,
            "insert into tariffs (id, programme, component, person_category, phase, rate, \
                 amount_rappen, basis, family_cap_rappen, valid_from, is_example, source, \
                 created_by) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             returning id, programme, component, person_category, phase, rate, amount_rappen, \
                 basis, family_cap_rappen, valid_from, valid_to, is_example, source, created_at, \
                 created_by",
            id,
            programme,
            component,
            category,
            phase,
            rate,
            tariff.amount_rappen.map(Rappen::get),
            tariff.basis.as_str(),
            tariff.family_cap_rappen.map(Rappen::get),
            tariff.valid_from,
            tariff.is_example,
            tariff.source,
            created_by,
        )
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
        // `query_as!` of the rows of a dated list (`$select`) in force on `on`.
        macro_rules! in_force {
            ($row:ident, $select:literal) => {
                sqlx::query_as!(
                    $row,
                    $select
                        + " where valid_from <= $1 and (valid_to is null or valid_to > $1) \
                           order by country",
                    on,
                )
            };
        }
        let visa_exempt = in_force!(
            VisaExemption,
            "select id, country, valid_from, valid_to, source from visa_exempt_countries"
        );
        let suspended = in_force!(
            Suspension,
            "select id, country, valid_from, valid_to, reason from suspended_destinations"
        );
        Ok(DestinationRules {
            visa_exempt: visa_exempt.fetch_all(self.pool()).await?,
            suspended: suspended.fetch_all(self.pool()).await?,
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
    Ok(sqlx::query_scalar!(r#"select swiss_today() as "today!""#).fetch_one(db).await?)
}

/// The tariff versions that apply on `on`, of one programme or all; on any connection, e.g.
/// within the transaction of an approval.
pub async fn tariffs_on(
    db: impl PgExecutor<'_>,
    programme: Option<Programme>,
    on: NaiveDate,
) -> Result<Vec<TariffVersion>, StoreError> {
    // Components in the order of the domain, then the rows of one component in a fixed order.
    let rows = sqlx::query_as!(
        Row,
        "select id, programme, component, person_category, phase, rate, amount_rappen, basis, \
             family_cap_rappen, valid_from, valid_to, is_example, source, created_at, created_by \
         from tariffs \
         where valid_from <= $1 and (valid_to is null or valid_to > $1) \
           and ($2::text is null or programme = $2) \
         order by programme, \
             array_position(array['startup_cash', 'reintegration_project', 'medical', \
                 'travel_money', 'travel_costs'], component), \
             phase nulls first, basis, person_category nulls last, rate desc, valid_from",
        on,
        programme.map(Programme::as_str),
    )
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
    let status = sqlx::query!(
        r#"select exists (select 1 from visa_exempt_countries
                 where country = $1 and valid_from <= $2
                   and (valid_to is null or valid_to > $2)) as "visa_exempt!",
             (select reason from suspended_destinations
                 where country = $1 and valid_from <= $2
                   and (valid_to is null or valid_to > $2)) as suspension"#,
        country,
        on,
    )
    .fetch_one(db)
    .await?;
    Ok(Destination {
        country: country.to_owned(),
        visa_exempt: status.visa_exempt,
        suspension: status.suspension,
    })
}
