//! Partner institutions.

use chrono::{DateTime, Utc};
use retour_domain::{Actor, ActorKind, Canton, InstitutionKind};
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::sessions::{SessionEnd, Sessions};
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
    /// Its users sign in with a second factor.
    pub mfa_required: bool,
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
    pub mfa_required: bool,
}

/// Which institutions to list.
#[derive(Debug, Clone, Default)]
pub struct InstitutionFilter {
    pub kind: Option<InstitutionKind>,
    pub active: Option<bool>,
}

/// What an update changes: `None` leaves a field as it is; `Some(None)` clears a contact.
#[derive(Debug, Clone, Default)]
pub struct InstitutionChanges {
    pub name: Option<String>,
    pub contact_email: Option<Option<String>>,
    pub contact_phone: Option<Option<String>>,
    pub active: Option<bool>,
    pub mfa_required: Option<bool>,
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
    mfa_required: bool,
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
            mfa_required: row.mfa_required,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// What the access policy needs to know of an actor's institution, selected as
/// `i.id, i.kind, i.canton, i.country` after the actor's own columns.
#[derive(Debug)]
pub(crate) struct InstitutionFacts {
    pub(crate) id: Uuid,
    pub(crate) kind: String,
    pub(crate) canton: Option<String>,
    pub(crate) country: Option<String>,
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

/// The columns of [`Row`], for the list (the statements checked at build time name them).
const COLUMNS: &str = "id, kind, name, canton, federal_region, country, contact_email, \
    contact_phone, active, mfa_required, created_at, updated_at";

/// The insert of a [`NewInstitution`] (`query_as!` into [`Row`]), with `$conflict` (an
/// `on conflict` clause, or nothing) before its `returning`.
macro_rules! insert_institution {
    ($new:expr, $conflict:literal) => {
        sqlx::query_as!(
            Row,
            "insert into institutions (id, kind, name, canton, federal_region, country, \
                 contact_email, contact_phone, mfa_required) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                + $conflict
                + " returning id, kind, name, canton, federal_region, country, contact_email, \
                 contact_phone, active, mfa_required, created_at, updated_at",
            Uuid::now_v7(),
            $new.kind.as_str(),
            $new.name,
            $new.canton.map(Canton::code),
            $new.federal_region,
            $new.country,
            $new.contact_email,
            $new.contact_phone,
            $new.mfa_required,
        )
    };
}

impl Store {
    /// Institutions matching `filter`, by kind and name.
    pub async fn list_institutions(
        &self,
        filter: &InstitutionFilter,
    ) -> Result<Vec<Institution>, StoreError> {
        // Built at run time: each filter is added only when given.
        let mut query =
            sqlx::QueryBuilder::new(format!("select {COLUMNS} from institutions where true"));
        if let Some(kind) = filter.kind {
            query.push(" and kind = ").push_bind(kind.as_str());
        }
        if let Some(active) = filter.active {
            query.push(" and active = ").push_bind(active);
        }
        query.push(" order by kind, name");
        let rows: Vec<Row> = query.build_query_as().fetch_all(self.pool()).await?;
        rows.into_iter().map(Institution::try_from).collect()
    }

    /// The institution whose name is `name`, without regard to case (names are unique so).
    pub async fn institution_by_name(&self, name: &str) -> Result<Institution, StoreError> {
        let row = sqlx::query_as!(
            Row,
            "select id, kind, name, canton, federal_region, country, contact_email, \
                 contact_phone, active, mfa_required, created_at, updated_at \
             from institutions where lower(name) = lower($1)",
            name.trim(),
        )
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        row.try_into()
    }

    /// Creates an institution and records `audit(&institution)` in the same transaction. A
    /// name already taken (in any case) violates `institutions_name_key`.
    pub async fn create_institution(
        &self,
        new: &NewInstitution,
        audit: impl FnOnce(&Institution) -> AuditEvent,
    ) -> Result<Institution, StoreError> {
        let mut tx = self.pool().begin().await?;
        let institution: Institution =
            insert_institution!(new, "").fetch_one(&mut *tx).await?.try_into()?;
        audit::record(&mut *tx, &audit(&institution)).await?;
        tx.commit().await?;
        Ok(institution)
    }

    /// Applies `changes` in one transaction, with `audit(&institution, changed_fields)`.
    /// Deactivating an institution revokes every refresh token of its users in the same
    /// transaction (their access tokens stop at the next request: the caller lookup requires
    /// an active institution). Nothing is written when nothing changes.
    pub async fn update_institution(
        &self,
        id: Uuid,
        changes: &InstitutionChanges,
        audit: impl FnOnce(&Institution, &[&'static str]) -> AuditEvent,
    ) -> Result<Institution, StoreError> {
        let mut tx = self.pool().begin().await?;
        let current: Institution = sqlx::query_as!(
            Row,
            "select id, kind, name, canton, federal_region, country, contact_email, \
                 contact_phone, active, mfa_required, created_at, updated_at \
             from institutions where id = $1 for update",
            id,
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_into()?;
        let mut changed = Vec::new();
        if changes.name.as_ref().is_some_and(|n| *n != current.name) {
            changed.push("name");
        }
        if changes.contact_email.as_ref().is_some_and(|e| *e != current.contact_email) {
            changed.push("contact_email");
        }
        if changes.contact_phone.as_ref().is_some_and(|p| *p != current.contact_phone) {
            changed.push("contact_phone");
        }
        if changes.active.is_some_and(|a| a != current.active) {
            changed.push("active");
        }
        if changes.mfa_required.is_some_and(|m| m != current.mfa_required) {
            changed.push("mfa_required");
        }
        if changed.is_empty() {
            return Ok(current);
        }
        let institution: Institution = sqlx::query_as!(
            Row,
            "update institutions set name = coalesce($2, name), \
                 contact_email = case when $3 then $4 else contact_email end, \
                 contact_phone = case when $5 then $6 else contact_phone end, \
                 active = coalesce($7, active), mfa_required = coalesce($8, mfa_required), \
                 updated_at = now() \
             where id = $1 \
             returning id, kind, name, canton, federal_region, country, contact_email, \
                 contact_phone, active, mfa_required, created_at, updated_at",
            id,
            changes.name.as_deref(),
            changes.contact_email.is_some(),
            changes.contact_email.clone().flatten(),
            changes.contact_phone.is_some(),
            changes.contact_phone.clone().flatten(),
            changes.active,
            changes.mfa_required,
        )
        .fetch_one(&mut *tx)
        .await?
        .try_into()?;
        if !institution.active {
            let reason = SessionEnd::InstitutionDeactivated;
            Self::end_sessions_in(&mut tx, Sessions::OfInstitution(id), reason).await?;
        }
        audit::record(&mut *tx, &audit(&institution, &changed)).await?;
        tx.commit().await?;
        Ok(institution)
    }

    pub async fn get_institution(&self, id: Uuid) -> Result<Institution, StoreError> {
        let row = sqlx::query_as!(
            Row,
            "select id, kind, name, canton, federal_region, country, contact_email, \
                 contact_phone, active, mfa_required, created_at, updated_at \
             from institutions where id = $1",
            id,
        )
        .fetch_optional(self.pool())
        .await?;
        let row = row.ok_or(StoreError::NotFound)?;
        row.try_into()
    }

    /// Creates an institution, or returns the existing one of the same name.
    pub async fn ensure_institution(
        &self,
        new: &NewInstitution,
    ) -> Result<Institution, StoreError> {
        let row = insert_institution!(
            new,
            " on conflict (lower(name)) do update set updated_at = institutions.updated_at"
        )
        .fetch_one(self.pool())
        .await?;
        row.try_into()
    }
}
