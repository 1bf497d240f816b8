//! Partner institutions.

use chrono::{DateTime, Utc};
use retour_domain::{Actor, ActorKind, Canton, InstitutionKind};
use uuid::Uuid;

use crate::{Store, StoreError};

/// An institution as stored.
#[derive(Debug, Clone)]
pub struct Institution {
    pub id: Uuid,
    pub kind: InstitutionKind,
    pub name: String,
    pub canton: Option<Canton>,
    pub federal_region: Option<String>,
    pub country: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What is needed to create an institution.
#[derive(Debug, Clone)]
pub struct NewInstitution {
    pub kind: InstitutionKind,
    pub name: String,
    pub canton: Option<Canton>,
    pub federal_region: Option<String>,
    pub country: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    kind: String,
    name: String,
    canton: Option<String>,
    federal_region: Option<String>,
    country: Option<String>,
    contact_email: Option<String>,
    contact_phone: Option<String>,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for Institution {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        Ok(Institution {
            id: row.id,
            kind: InstitutionKind::parse(&row.kind)
                .ok_or_else(|| StoreError::corrupt("institutions.kind", &row.kind))?,
            canton: match row.canton {
                Some(c) => Some(
                    Canton::parse(&c)
                        .ok_or_else(|| StoreError::corrupt("institutions.canton", &c))?,
                ),
                None => None,
            },
            name: row.name,
            federal_region: row.federal_region,
            country: row.country,
            contact_email: row.contact_email,
            contact_phone: row.contact_phone,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// What the access policy needs to know of an actor's institution, selected as
/// `i.id, i.kind, i.canton, i.country` after the actor's own columns.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct InstitutionFacts {
    id: Uuid,
    kind: String,
    canton: Option<String>,
    country: Option<String>,
}

impl InstitutionFacts {
    pub(crate) fn actor(self, id: Uuid, kind: ActorKind) -> Result<Actor, StoreError> {
        Ok(Actor {
            id,
            kind,
            institution_id: self.id,
            institution_kind: InstitutionKind::parse(&self.kind)
                .ok_or_else(|| StoreError::corrupt("institutions.kind", &self.kind))?,
            canton: self.canton.as_deref().and_then(Canton::parse),
            mission_country: self.country,
        })
    }
}

const COLUMNS: &str = "id, kind, name, canton, federal_region, country, contact_email, \
    contact_phone, active, created_at, updated_at";

impl Store {
    pub async fn list_institutions(&self) -> Result<Vec<Institution>, StoreError> {
        let sql = format!("select {COLUMNS} from institutions order by kind, name");
        let rows: Vec<Row> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await?;
        rows.into_iter().map(Institution::try_from).collect()
    }

    pub async fn get_institution(&self, id: Uuid) -> Result<Institution, StoreError> {
        let sql = format!("select {COLUMNS} from institutions where id = $1");
        let row: Row =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(self.pool()).await?;
        row.try_into()
    }

    /// Creates an institution, or returns the existing one of the same name.
    pub async fn ensure_institution(
        &self,
        new: &NewInstitution,
    ) -> Result<Institution, StoreError> {
        let sql = format!(
            "insert into institutions (id, kind, name, canton, federal_region, country, \
                 contact_email, contact_phone) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) \
             on conflict (lower(name)) do update set updated_at = institutions.updated_at \
             returning {COLUMNS}"
        );
        let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(Uuid::now_v7())
            .bind(new.kind.as_str())
            .bind(&new.name)
            .bind(new.canton.map(Canton::code))
            .bind(&new.federal_region)
            .bind(&new.country)
            .bind(&new.contact_email)
            .bind(&new.contact_phone)
            .fetch_one(self.pool())
            .await?;
        row.try_into()
    }
}
