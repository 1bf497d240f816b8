//! Who held the synthetic cases: after the cases are loaded, a share of them is given the
//! governance a real installation shows — counsellors reassigned within their service,
//! canton transfers (accepted, declined and pending), four-eyes proposals (confirmed for
//! every approval above the entitlement, open for some cancellations after booking) — each
//! with its history entries. Set-based statements over the loaded cases, chosen by a hash
//! of the case id, so the same seed gives the same result.
//!
//! The proportions, per case: about 3 % reassigned, 2 % transferred to another canton (one
//! in ten declined), 0.5 % of the cases before booking waiting for a transfer's answer, 5 %
//! of booked cases with a cancellation waiting for a second SEM officer.

use sqlx::PgConnection;

use super::SyntheticError;

/// What [`derive`] added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    pub reassignments: u64,
    pub transfers: u64,
    pub proposals: u64,
}

/// A number from 0 to 99 drawn from a case's id (stable for the id).
const PERCENTILE: &str =
    "(('x' || substr(md5(c.id::text), 1, 8))::bit(32)::int & 2147483647) % 100";

/// Gives the cases opened since `since` their holdings, leaving alone those that have some
/// already (so a second load over the same period adds none twice).
pub async fn derive(
    conn: &mut PgConnection,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Holdings, SyntheticError> {
    let mut holdings = Holdings::default();
    // Counsellors reassigned within their service (where it has a second counsellor).
    let reassigned = sqlx::query(sqlx::AssertSqlSafe(format!(
        "with picked as ( \
             select c.id, c.status, c.counsellor_id, c.created_at, \
                 (select u.id from users u where u.institution_id = c.counselling_service_id \
                    and u.role = 'counsellor' and u.status = 'active' and u.id <> c.counsellor_id \
                  order by u.id limit 1) as other \
             from cases c where c.created_at >= $1 and {PERCENTILE} between 10 and 12 \
               and not exists (select 1 from case_events e where e.case_id = c.id \
                   and e.action = 'reassign')), \
         moved as (update cases c set counsellor_id = p.other from picked p \
             where c.id = p.id and p.other is not null returning c.id, p.counsellor_id, p.status, \
                 p.created_at, c.updated_at, c.counselling_service_id) \
         insert into case_events (id, case_id, action, from_status, to_status, actor_id, \
             actor_institution_id, actor_role, comment, occurred_at) \
         select gen_random_uuid(), m.id, 'reassign', m.status, m.status, m.counsellor_id, \
             m.counselling_service_id, 'counsellor', 'Holiday cover', \
             least(m.created_at + interval '2 days', m.updated_at) from moved m"
    )))
    .bind(since)
    .execute(&mut *conn)
    .await?;
    holdings.reassignments = reassigned.rows_affected();

    // Transfers to another cantonal service: decided ones (accepted or declined) of cases
    // that were then before travel, and pending ones of cases before travel now. A pending
    // transfer is proposed at the case's last change, so only a case changed after its
    // opening gets one: the proposal never shares the opening's instant.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "with picked as ( \
             select c.id, c.status, c.counselling_service_id as from_id, c.counsellor_id, \
                 c.created_at, {PERCENTILE} as pct, \
                 (select i.id from institutions i where i.kind = 'counselling_service' \
                    and i.active and i.canton is not null and i.id <> c.counselling_service_id \
                    and exists (select 1 from users u where u.institution_id = i.id \
                        and u.role = 'counsellor' and u.status = 'active') \
                  order by md5(i.id::text || c.id::text) limit 1) as to_id \
             from cases c where c.created_at >= $1 \
               and not exists (select 1 from case_transfers t where t.case_id = c.id) \
               and (({PERCENTILE} between 20 and 21 and c.federal_region is null \
                     and (c.submitted_at is null or c.submitted_at > c.created_at + interval '5 days') \
                     and c.updated_at > c.created_at + interval '5 days') \
                 or ({PERCENTILE} = 22 and c.updated_at > c.created_at \
                     and c.status in ('counselling', 'submitted', \
                     'under_review', 'info_requested', 'approved')))), \
         chosen as (select p.*, (select u.id from users u where u.institution_id = p.to_id \
                 and u.role = 'counsellor' and u.status = 'active' order by u.id limit 1) as receiver, \
                 case when p.pct = 22 then 'pending' \
                      when ('x' || substr(md5(p.id::text), 9, 2))::bit(8)::int % 10 = 0 \
                          then 'declined' else 'accepted' end as outcome \
             from picked p where p.to_id is not null), \
         timed as (select c.*, case when c.outcome = 'pending' then x.updated_at \
                 else c.created_at + interval '3 days' end as proposed_at, \
                 case when c.outcome = 'pending' then x.status else 'counselling' end as then_status \
             from chosen c join cases x on x.id = c.id), \
         written as (insert into case_transfers (id, case_id, from_service_id, to_service_id, \
                 reason, status, proposed_by, proposed_at, decided_by, decided_at, \
                 decline_reason, counsellor_id) \
             select gen_random_uuid(), c.id, c.from_id, c.to_id, \
                 'The family moved to another canton', c.outcome, c.counsellor_id, \
                 c.proposed_at, \
                 case when c.outcome <> 'pending' then c.receiver end, \
                 case when c.outcome <> 'pending' then c.created_at + interval '5 days' end, \
                 case when c.outcome = 'declined' then 'The person is registered with us no longer' end, \
                 case when c.outcome = 'accepted' then c.receiver end \
             from timed c returning case_id), \
         proposed as (insert into case_events (id, case_id, action, from_status, to_status, \
                 actor_id, actor_institution_id, actor_role, comment, occurred_at) \
             select gen_random_uuid(), c.id, 'propose_transfer', c.then_status, c.then_status, \
                 c.counsellor_id, c.from_id, 'counsellor', 'The family moved to another canton', \
                 c.proposed_at from timed c), \
         answered as (insert into case_events (id, case_id, action, from_status, to_status, \
                 actor_id, actor_institution_id, actor_role, comment, occurred_at) \
             select gen_random_uuid(), c.id, \
                 case c.outcome when 'accepted' then 'accept_transfer' else 'decline_transfer' end, \
                 c.then_status, c.then_status, c.receiver, c.to_id, 'counsellor', \
                 case when c.outcome = 'declined' then 'The person is registered with us no longer' end, \
                 c.created_at + interval '5 days' from timed c where c.outcome <> 'pending') \
         update cases x set \
             counselling_service_id = case when c.outcome = 'accepted' then c.to_id \
                 else x.counselling_service_id end, \
             canton = case when c.outcome = 'accepted' then i.canton else x.canton end, \
             federal_region = case when c.outcome = 'accepted' then null else x.federal_region end, \
             counsellor_id = case when c.outcome = 'accepted' then c.receiver else x.counsellor_id end, \
             transfer_to_service_id = case when c.outcome = 'pending' then c.to_id end \
         from chosen c join institutions i on i.id = c.to_id \
         where x.id = c.id and c.outcome in ('accepted', 'pending')"
    )))
    .bind(since)
    .execute(&mut *conn)
    .await?;
    holdings.transfers = sqlx::query_scalar::<_, i64>(
        "select count(*) from case_transfers t join cases c on c.id = t.case_id \
         where c.created_at >= $1",
    )
    .bind(since)
    .fetch_one(&mut *conn)
    .await? as u64;

    // Four-eyes: every approval above the entitlement was proposed by its reviewer and
    // confirmed by another SEM officer; some booked cases wait for a second officer to
    // confirm their cancellation.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "with second as (select s.id, s.institution_id from users s where s.role = 'sem_officer' \
                 and s.status = 'active' order by s.id), \
         overridden as (select d.case_id, d.decided_by, d.decided_at, d.reasons, \
                 d.override_justification, c.status, \
                 (select s.id from second s where s.id <> d.decided_by limit 1) as confirmer, \
                 (select s.institution_id from second s where s.id <> d.decided_by limit 1) as sem \
             from case_decisions d join cases c on c.id = d.case_id \
             where c.created_at >= $1 and d.decision = 'approved' \
               and cardinality(d.overridden_components) > 0 \
               and not exists (select 1 from case_proposals p where p.case_id = d.case_id)), \
         confirmed as (insert into case_proposals (id, case_id, kind, transition, justification, \
                 status, proposed_by, proposed_at, decided_by, decided_at) \
             select gen_random_uuid(), o.case_id, 'approval_override', \
                 jsonb_build_object('action', 'approve', 'reasons', o.reasons, \
                     'override_justification', o.override_justification, \
                     'approved_assistance', (select jsonb_agg(jsonb_build_object( \
                         'component', a.component, 'amount_rappen', a.amount_rappen)) \
                         from case_approved_assistance a where a.case_id = o.case_id)), \
                 coalesce(o.override_justification, 'Above the tariff'), 'confirmed', \
                 o.decided_by, o.decided_at - interval '1 millisecond', o.confirmer, o.decided_at \
             from overridden o where o.confirmer is not null returning case_id), \
         booked as (select c.id, c.reviewer_id, c.updated_at from cases c \
             where c.created_at >= $1 and c.status = 'travel_booked' \
               and c.reviewer_id is not null and {PERCENTILE} < 5 \
               and not exists (select 1 from case_proposals p where p.case_id = c.id)) \
         insert into case_proposals (id, case_id, kind, transition, justification, proposed_by, \
             proposed_at) \
         select gen_random_uuid(), b.id, 'cancellation_after_booking', \
             '{{\"action\": \"cancel\", \"reason\": \"absconded\"}}'::jsonb, \
             'The person left the cantonal accommodation; police report filed', b.reviewer_id, \
             b.updated_at from booked b"
    )))
    .bind(since)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "insert into case_events (id, case_id, action, from_status, to_status, actor_id, \
             actor_institution_id, actor_role, comment, occurred_at) \
         select gen_random_uuid(), p.case_id, 'propose', \
             case when p.status = 'confirmed' then 'under_review' else c.status end, \
             case when p.status = 'confirmed' then 'under_review' else c.status end, \
             p.proposed_by, u.institution_id, 'sem_officer', p.justification, p.proposed_at \
         from case_proposals p join cases c on c.id = p.case_id join users u on u.id = p.proposed_by \
         where c.created_at >= $1 and not exists (select 1 from case_events e \
             where e.case_id = p.case_id and e.action = 'propose') \
         union all \
         select gen_random_uuid(), p.case_id, 'confirm_proposal', 'approved', 'approved', \
             p.decided_by, u.institution_id, 'sem_officer', null, p.decided_at \
         from case_proposals p join cases c on c.id = p.case_id join users u on u.id = p.decided_by \
         where c.created_at >= $1 and p.status = 'confirmed' and not exists ( \
             select 1 from case_events e where e.case_id = p.case_id \
                 and e.action = 'confirm_proposal')",
    )
    .bind(since)
    .execute(&mut *conn)
    .await?;
    holdings.proposals = sqlx::query_scalar::<_, i64>(
        "select count(*) from case_proposals p join cases c on c.id = p.case_id \
         where c.created_at >= $1",
    )
    .bind(since)
    .fetch_one(&mut *conn)
    .await? as u64;
    Ok(holdings)
}
