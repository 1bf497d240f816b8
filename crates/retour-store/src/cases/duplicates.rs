//! Duplicates: an open case already holding a ZEMIS number, and idempotency keys of case openings.

use super::*;

/// An open case that already holds a ZEMIS number.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingCase {
    pub id: Uuid,
    pub reference: String,
    pub facts: CaseFacts,
    pub zemis_number: ZemisNumber,
}

pub(super) struct ExistingRow {
    pub(super) id: Uuid,
    pub(super) reference: String,
    pub(super) status: String,
    pub(super) counselling_service_id: Uuid,
    pub(super) submitted: bool,
    pub(super) approved: bool,
    pub(super) reintegration_mission_id: Option<Uuid>,
    pub(super) transfer_to_service_id: Option<Uuid>,
    pub(super) zemis_number: String,
}

/// Finds an open case (not rejected, closed, withdrawn or cancelled) other than `except`
/// whose household holds one of `numbers`. Concurrent writers holding the same numbers wait
/// for each other (a transaction-scoped advisory lock per number), so two cases for one
/// person cannot be opened at the same moment.
pub async fn open_case_with_zemis(
    conn: &mut PgConnection,
    numbers: &[&ZemisNumber],
    except: Option<Uuid>,
) -> Result<Option<ExistingCase>, StoreError> {
    if numbers.is_empty() {
        return Ok(None);
    }
    let mut sorted: Vec<&str> = numbers.iter().map(|z| z.as_str()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('retour.zemis.' || z, 0)) \
         from unnest($1::text[]) with ordinality as x(z, n) order by n",
        &sorted as &[&str],
    )
    .execute(&mut *conn)
    .await?;
    let closed: Vec<&str> =
        CaseStatus::ALL.into_iter().filter(|s| s.is_terminal()).map(CaseStatus::as_str).collect();
    let row = sqlx::query_as!(
        ExistingRow,
        r#"select c.id, c.reference, c.status, c.counselling_service_id,
             c.submitted_at is not null as "submitted!", c.approved_at is not null as "approved!",
             c.reintegration_mission_id, c.transfer_to_service_id,
             p.zemis_number as "zemis_number!"
         from case_persons p join cases c on c.id = p.case_id
         where p.zemis_number = any($1) and c.status <> all($2)
           and c.id is distinct from $3
         order by c.created_at limit 1"#,
        &sorted as &[&str],
        &closed as &[&str],
        except,
    )
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(ExistingCase {
            facts: CaseFacts {
                status: CaseStatus::parse(&r.status)
                    .ok_or_else(|| StoreError::corrupt("cases.status", &r.status))?,
                counselling_service_id: r.counselling_service_id,
                submitted: r.submitted,
                approved: r.approved,
                mission_id: r.reintegration_mission_id,
                transfer_to: r.transfer_to_service_id,
            },
            zemis_number: ZemisNumber::parse(&r.zemis_number)
                .ok_or_else(|| StoreError::corrupt("case_persons.zemis_number", &r.zemis_number))?,
            id: r.id,
            reference: r.reference,
        })
    })
    .transpose()
}

/// What an `Idempotency-Key` already stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new (or its 24 hours are over): this request proceeds and records its result.
    Claimed,
    /// A request with this key completed within 24 hours.
    Completed { request_hash: Vec<u8>, status: Option<i16>, resource_id: Option<Uuid> },
}

/// Claims `key` for `actor_id`'s request whose body hashes to `request_hash`. A concurrent
/// request with the same key waits here until the first one commits or rolls back.
pub async fn claim_idempotency_key(
    conn: &mut PgConnection,
    actor_id: Uuid,
    key: &str,
    request_hash: &[u8],
) -> Result<IdempotencyClaim, StoreError> {
    let claimed = sqlx::query_scalar!(
        r#"insert into idempotency_keys as k (actor_id, key, request_hash) values ($1, $2, $3)
         on conflict (actor_id, key) do update set request_hash = excluded.request_hash,
             response_status = null, resource_id = null, created_at = now()
         where k.created_at < now() - interval '24 hours'
         returning true as "claimed!""#,
        actor_id,
        key,
        request_hash,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if claimed.is_some() {
        return Ok(IdempotencyClaim::Claimed);
    }
    let completed = sqlx::query!(
        "select request_hash, response_status, resource_id from idempotency_keys \
             where actor_id = $1 and key = $2",
        actor_id,
        key,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(IdempotencyClaim::Completed {
        request_hash: completed.request_hash,
        status: completed.response_status,
        resource_id: completed.resource_id,
    })
}

/// Records the outcome of the request that claimed `key`.
pub async fn complete_idempotency_key(
    conn: &mut PgConnection,
    actor_id: Uuid,
    key: &str,
    status: u16,
    resource_id: Uuid,
) -> Result<(), StoreError> {
    sqlx::query!(
        "update idempotency_keys set response_status = $3, resource_id = $4 \
         where actor_id = $1 and key = $2",
        actor_id,
        key,
        i16::try_from(status).unwrap_or(i16::MAX),
        resource_id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
