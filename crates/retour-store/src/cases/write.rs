//! Writing a case and its household under optimistic concurrency: opening with the next
//! reference, fields, medical and eligibility answers, persons.

use super::*;
use crate::events::{self, NewEvent};
use retour_domain::event::EventType;

/// Inserts a new case of `counselling_service_id`, opened by `counsellor_id`, with the next
/// reference of its prefix and the Swiss year, with its history's first entry and its event.
/// Returns its id and reference.
pub async fn insert_case(
    conn: &mut PgConnection,
    counselling_service_id: Uuid,
    counsellor_id: Uuid,
    new: &NewCase,
) -> Result<(Uuid, String), StoreError> {
    let service = sqlx::query!(
        "select canton, federal_region from institutions \
         where id = $1 and kind = 'counselling_service'",
        counselling_service_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let canton = service.canton.as_deref().and_then(Canton::parse);
    let federal_region = service.federal_region;
    let prefix = reference_prefix(canton, federal_region.as_deref());
    let counter = sqlx::query!(
        "insert into case_reference_counters as r (prefix, year, last_number) \
         values ($1, extract(year from now() at time zone 'Europe/Zurich')::int, 1) \
         on conflict (prefix, year) do update set last_number = r.last_number + 1 \
         returning year, last_number",
        prefix,
    )
    .fetch_one(&mut *conn)
    .await?;
    let reference = format_reference(&prefix, counter.year, counter.last_number);
    let id = Uuid::now_v7();
    let fields = &new.fields;
    sqlx::query!(
        "insert into cases (id, reference, canton, federal_region, counselling_service_id, \
             counsellor_id, created_by, programme, destination_country, planned_departure_date, \
             vulnerabilities, procedure_phase) \
         values ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11)",
        id,
        reference,
        canton.map(Canton::code),
        if canton.is_some() { None } else { federal_region.as_deref() },
        counselling_service_id,
        counsellor_id,
        fields.programme.as_str(),
        fields.destination_country.as_str(),
        fields.planned_departure_date,
        &vulnerability_names(&fields.vulnerabilities) as &[&str],
        fields.procedure_phase.map(ProcedurePhase::as_str),
    )
    .execute(&mut *conn)
    .await?;
    // The history starts with the opening.
    sqlx::query!(
        "insert into case_events (id, case_id, action, from_status, to_status, actor_id, \
             actor_institution_id, actor_role) \
         values ($1, $2, 'open', null, 'counselling', $3, $4, 'counsellor')",
        Uuid::now_v7(),
        id,
        counsellor_id,
        counselling_service_id,
    )
    .execute(&mut *conn)
    .await?;
    let opened = NewEvent::new(EventType::CaseOpened, id, Some(counselling_service_id))
        .data(serde_json::json!({ "status": "counselling" }));
    events::record(conn, &opened).await?;
    for (position, person) in new.persons.iter().enumerate() {
        insert_person_at(conn, id, i32::try_from(position).unwrap_or(i32::MAX), person).await?;
    }
    write_medical(conn, id, fields.medical.as_ref()).await?;
    write_eligibility(conn, id, &fields.eligibility, fields.voluntariness_declaration).await?;
    write_requested_assistance(conn, id, &fields.requested_assistance).await?;
    refresh_search(conn, id).await?;
    Ok((id, reference))
}

pub(super) fn vulnerability_names(list: &[Vulnerability]) -> Vec<&'static str> {
    list.iter().map(|v| v.as_str()).collect()
}

/// Writes the editable fields named in `changed`, bumping the version from `expected`.
/// [`StoreError::StaleVersion`] when the case has another version by now.
pub async fn update_case_fields(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
    fields: &CaseFields,
    changed: &[&str],
) -> Result<i32, StoreError> {
    let version = sqlx::query_scalar!(
        "update cases set programme = $3, destination_country = $4, \
             planned_departure_date = $5, vulnerabilities = $6, procedure_phase = $7, \
             version = version + 1, updated_at = now() \
         where id = $1 and version = $2 returning version",
        id,
        expected_version,
        fields.programme.as_str(),
        fields.destination_country.as_str(),
        fields.planned_departure_date,
        &vulnerability_names(&fields.vulnerabilities) as &[&str],
        fields.procedure_phase.map(ProcedurePhase::as_str),
    )
    .fetch_optional(&mut *conn)
    .await?;
    let version = version.ok_or(StoreError::StaleVersion)?;
    if changed.contains(&"medical") {
        write_medical(conn, id, fields.medical.as_ref()).await?;
    }
    if changed.contains(&"eligibility") || changed.contains(&"voluntariness_declaration") {
        write_eligibility(conn, id, &fields.eligibility, fields.voluntariness_declaration).await?;
    }
    if changed.contains(&"requested_assistance") {
        write_requested_assistance(conn, id, &fields.requested_assistance).await?;
    }
    Ok(version)
}

/// Bumps the version of a case whose household changed; [`StoreError::StaleVersion`] when
/// it is no longer `expected_version`.
pub async fn bump_version(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
) -> Result<i32, StoreError> {
    let version = sqlx::query_scalar!(
        "update cases set version = version + 1, updated_at = now() \
         where id = $1 and version = $2 returning version",
        id,
        expected_version,
    )
    .fetch_optional(&mut *conn)
    .await?;
    version.ok_or(StoreError::StaleVersion)
}

pub(super) async fn write_medical(
    conn: &mut PgConnection,
    id: Uuid,
    medical: Option<&Medical>,
) -> Result<(), StoreError> {
    match medical {
        None => {
            sqlx::query!("delete from case_medical where case_id = $1", id)
                .execute(&mut *conn)
                .await?;
        }
        Some(m) => {
            sqlx::query!(
                "insert into case_medical (case_id, summary, fit_to_travel, escort) \
                 values ($1, $2, $3, $4) \
                 on conflict (case_id) do update set summary = excluded.summary, \
                     fit_to_travel = excluded.fit_to_travel, escort = excluded.escort, \
                     updated_at = now()",
                id,
                m.summary,
                m.fit_to_travel,
                m.escort.map(Escort::as_str),
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

pub(super) async fn write_eligibility(
    conn: &mut PgConnection,
    id: Uuid,
    eligibility: &Eligibility,
    declaration: Option<VoluntarinessDeclaration>,
) -> Result<(), StoreError> {
    sqlx::query!(
        "insert into case_eligibility (case_id, criminal_offences, abuse, sufficient_assets, \
             prior_assistance, voluntariness_signed_on) \
         values ($1, $2, $3, $4, $5, $6) \
         on conflict (case_id) do update set criminal_offences = excluded.criminal_offences, \
             abuse = excluded.abuse, sufficient_assets = excluded.sufficient_assets, \
             prior_assistance = excluded.prior_assistance, \
             voluntariness_signed_on = excluded.voluntariness_signed_on, updated_at = now()",
        id,
        eligibility.criminal_offences,
        eligibility.abuse,
        eligibility.sufficient_assets,
        eligibility.prior_assistance,
        declaration.map(|d| d.signed_on),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn write_requested_assistance(
    conn: &mut PgConnection,
    id: Uuid,
    requested: &[RequestedAssistance],
) -> Result<(), StoreError> {
    sqlx::query!("delete from case_requested_assistance where case_id = $1", id)
        .execute(&mut *conn)
        .await?;
    if requested.is_empty() {
        return Ok(());
    }
    let components: Vec<&str> = requested.iter().map(|r| r.component.as_str()).collect();
    let amounts: Vec<i64> = requested.iter().map(|r| r.amount_rappen).collect();
    sqlx::query!(
        "insert into case_requested_assistance (case_id, component, amount_rappen) \
         select $1, component, amount from unnest($2::text[], $3::bigint[]) as x(component, amount)",
        id,
        &components as &[&str],
        amounts.as_slice(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `query!` of `$sql` with `$arg`s first, then a person's columns in the order both the insert
/// and the update name them: relationship, surname, given_names, aliases, date_of_birth, sex,
/// nationality, zemis_number, n_number, residence_status, entry_date, travelling.
macro_rules! person_query {
    ($sql:literal, [$($arg:expr),*], $person:expr) => {
        sqlx::query!(
            $sql,
            $($arg,)*
            $person.relationship.as_str(),
            $person.surname,
            $person.given_names,
            $person.aliases.as_slice(),
            $person.date_of_birth,
            $person.sex.as_str(),
            $person.nationality.as_str(),
            $person.zemis_number.as_ref().map(ZemisNumber::as_str),
            $person.n_number.as_ref().map(NNumber::as_str),
            $person.residence_status.map(ResidenceStatus::as_str),
            $person.entry_date,
            $person.travelling,
        )
    };
}

pub(super) async fn insert_person_at(
    conn: &mut PgConnection,
    case_id: Uuid,
    position: i32,
    person: &Person,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    person_query!(
        "insert into case_persons (id, case_id, position, relationship, surname, given_names, \
             aliases, date_of_birth, sex, nationality, zemis_number, n_number, residence_status, \
             entry_date, travelling) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        [id, case_id, position],
        person
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Adds a person at the end of the household; returns the person's id.
pub async fn insert_person(
    conn: &mut PgConnection,
    case_id: Uuid,
    person: &Person,
) -> Result<Uuid, StoreError> {
    let position = sqlx::query_scalar!(
        r#"select coalesce(max(position) + 1, 0) as "position!" from case_persons
           where case_id = $1"#,
        case_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let id = insert_person_at(conn, case_id, position, person).await?;
    refresh_search(conn, case_id).await?;
    Ok(id)
}

/// Replaces a person's data.
pub async fn update_person(
    conn: &mut PgConnection,
    case_id: Uuid,
    person_id: Uuid,
    person: &Person,
) -> Result<(), StoreError> {
    let updated = person_query!(
        "update case_persons set relationship = $3, surname = $4, given_names = $5, \
             aliases = $6, date_of_birth = $7, sex = $8, nationality = $9, zemis_number = $10, \
             n_number = $11, residence_status = $12, entry_date = $13, travelling = $14, \
             updated_at = now() \
         where id = $1 and case_id = $2",
        [person_id, case_id],
        person
    )
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    refresh_search(conn, case_id).await
}

/// Removes a person from the household.
pub async fn delete_person(
    conn: &mut PgConnection,
    case_id: Uuid,
    person_id: Uuid,
) -> Result<(), StoreError> {
    let deleted =
        sqlx::query!("delete from case_persons where id = $1 and case_id = $2", person_id, case_id)
            .execute(&mut *conn)
            .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    refresh_search(conn, case_id).await
}

pub(super) async fn refresh_search(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<(), StoreError> {
    sqlx::query!("select refresh_case_search($1)", case_id).execute(&mut *conn).await?;
    Ok(())
}
