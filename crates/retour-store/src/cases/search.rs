//! Lists and search: the caller's scope, filters, keyset cursors and the words of `q`, all in SQL.

use super::*;

pub use retour_domain::case::CaseSort;

/// Filters of a case list; all given ones apply.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub statuses: Vec<CaseStatus>,
    pub canton: Option<Canton>,
    pub counselling_service_id: Option<Uuid>,
    pub destination_country: Option<CountryCode>,
    pub programme: Option<Programme>,
    pub counsellor_id: Option<Uuid>,
    pub reviewer_id: Option<Uuid>,
    /// Held by this user, as counsellor or as SEM reviewer.
    pub assignee: Option<Uuid>,
    /// Inclusive lower and exclusive upper bounds.
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub updated_from: Option<DateTime<Utc>>,
    pub updated_to: Option<DateTime<Utc>>,
    /// Free text: each word must occur in a person's names or aliases or the reference
    /// (and, where `search_ids`, a ZEMIS or N number), without regard to case or accents.
    pub q: Option<String>,
    /// Whether `q` may match ZEMIS and N numbers: only for readers who may see them.
    pub search_ids: bool,
    /// Only cases with (`true`) or without (`false`) an overdue deadline of `deadline_kinds`.
    pub overdue: Option<bool>,
    /// The deadline kinds the reader may see, which alone make a case overdue for them.
    pub deadline_kinds: Vec<DeadlineKind>,
    pub sort: CaseSort,
    /// Continue after this (sort value, id).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: u32,
}

/// A case in a list.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CaseListRow {
    pub id: Uuid,
    pub reference: String,
    pub status: String,
    pub canton: Option<String>,
    pub counselling_service_id: Uuid,
    pub programme: String,
    pub destination_country: String,
    pub principal_surname: Option<String>,
    pub principal_given_names: Option<String>,
    pub persons_count: i64,
    /// An open deadline of a kind the reader may see is overdue.
    pub overdue: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The words of a free-text query, as patterns for `like`: a whole N number becomes its
/// compact indexed form (`n123456`); `%`, `_` and `\` match themselves.
pub fn search_patterns(q: &str) -> Vec<String> {
    let words: Vec<String> = match NNumber::parse(q) {
        Some(n) => vec![n.compact()],
        None => q.split_whitespace().map(str::to_owned).collect(),
    };
    words
        .into_iter()
        .map(|w| {
            let escaped = w.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        })
        .collect()
}

/// How many of the newest cases in scope a one-word search first looks through for a page of
/// matches. A word as common as a frequent surname fills a page within them, found by walking
/// the scope's index in order (index-only, some 10 ms at most); a rarer one does not, and the
/// search then asks the trigram index for every match and sorts those (cheap when they are
/// few, hundreds of milliseconds for tens of thousands).
pub(super) const SEARCH_WINDOW: i64 = 20_000;

/// Whether a `like` pattern from [`search_patterns`] can match `search_ids`, which holds only
/// ZEMIS numbers (digits) and compact N numbers (`n` and digits): not when the word has a
/// letter other than `n` (folding keeps ASCII letters letters).
pub(super) fn may_match_ids(pattern: &str) -> bool {
    !pattern.bytes().any(|b| b.is_ascii_alphabetic() && !b.eq_ignore_ascii_case(&b'n'))
}

/// How a page of a list is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    /// No search words: the first rows of the scope's ordered index.
    Plain,
    /// The words checked on this many newest rows of the scope, walked in order.
    Window(i64),
    /// Every row the words match, through the trigram indexes, then sorted.
    AllMatches,
}

impl Store {
    /// One page of the cases within `scope` that match `filter`, newest first; one more row
    /// than `filter.limit` when there is a further page.
    pub async fn list_cases(
        &self,
        scope: CaseScope,
        filter: &CaseFilter,
    ) -> Result<Vec<CaseListRow>, StoreError> {
        let patterns = filter.q.as_deref().map(search_patterns).unwrap_or_default();
        if patterns.is_empty() {
            return self.list_page(scope, filter, &patterns, Pass::Plain).await;
        }
        // A single word without digits may be a name shared by thousands of households;
        // several words, a reference or a number pick out few, which the trigram indexes
        // find at once.
        let broad = matches!(&patterns[..], [word] if !word.bytes().any(|b| b.is_ascii_digit()));
        if broad {
            let rows =
                self.list_page(scope, filter, &patterns, Pass::Window(SEARCH_WINDOW)).await?;
            // A full page (and one more) among the newest cases is the page: every case
            // before the last one found was looked at, in order.
            if rows.len() > filter.limit as usize {
                return Ok(rows);
            }
        }
        self.list_page(scope, filter, &patterns, Pass::AllMatches).await
    }

    /// One page: the ids first (from the scope's ordered index, which carries the search
    /// columns, or from the trigram indexes), then their rows.
    pub(super) async fn list_page(
        &self,
        scope: CaseScope,
        filter: &CaseFilter,
        patterns: &[String],
        pass: Pass,
    ) -> Result<Vec<CaseListRow>, StoreError> {
        let sort = filter.sort.as_str();
        let fetch = i64::from(filter.limit) + 1;
        // Built at run time: the scope, the filters given, the sort and the search words.
        let mut qb = QueryBuilder::new("");
        if pass == Pass::AllMatches {
            // Materialised: all the matches, whatever the planner would guess of their
            // number, and only then the order (walking the ordered index instead, hoping for
            // an early page, is the window's job).
            qb.push("with matches as materialized (select c.id, c.")
                .push(sort)
                .push(" as at from cases c where ");
            push_conditions(&mut qb, scope, filter);
            push_search(&mut qb, "c", patterns, filter.search_ids);
            qb.push(") ");
        }
        qb.push(
            "select c.id, c.reference, c.status, c.canton, c.counselling_service_id, \
                 c.programme, c.destination_country, p.surname as principal_surname, \
                 p.given_names as principal_given_names, \
                 (select count(*) from case_persons x where x.case_id = c.id) as persons_count, ",
        );
        push_overdue(&mut qb, &filter.deadline_kinds);
        qb.push(
            " as overdue, c.created_at, c.updated_at \
             from (",
        );
        match pass {
            Pass::Plain => {
                qb.push("select c.id from cases c where ");
                push_conditions(&mut qb, scope, filter);
                qb.push(" order by c.").push(sort).push(" desc, c.id desc limit ").push_bind(fetch);
            }
            Pass::Window(window) => {
                qb.push("select w.id from (select c.id, c.")
                    .push(sort)
                    .push(" as at, c.search_text, c.search_ids from cases c where ");
                push_conditions(&mut qb, scope, filter);
                qb.push(" order by c.")
                    .push(sort)
                    .push(" desc, c.id desc limit ")
                    .push_bind(window)
                    .push(") w where true");
                push_search(&mut qb, "w", patterns, filter.search_ids);
                qb.push(" order by w.at desc, w.id desc limit ").push_bind(fetch);
            }
            Pass::AllMatches => {
                qb.push("select id from matches order by at desc, id desc limit ").push_bind(fetch);
            }
        }
        qb.push(
            ") page join cases c on c.id = page.id \
             left join case_persons p on p.case_id = c.id and p.relationship = 'principal' \
             order by c.",
        )
        .push(sort)
        .push(" desc, c.id desc");
        Ok(qb.build_query_as().fetch_all(self.pool()).await?)
    }
}

/// The scope, the filters (but the words) and the cursor of a list, on `cases c`.
pub(super) fn push_conditions(
    qb: &mut QueryBuilder<Postgres>,
    scope: CaseScope,
    filter: &CaseFilter,
) {
    qb.push("(");
    push_scope(qb, scope);
    qb.push(")");
    if !filter.statuses.is_empty() {
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        qb.push(" and c.status = any(").push_bind(statuses).push(")");
    }
    if let Some(canton) = filter.canton {
        qb.push(" and c.canton = ").push_bind(canton.code());
    }
    if let Some(id) = filter.counselling_service_id {
        qb.push(" and c.counselling_service_id = ").push_bind(id);
    }
    if let Some(country) = filter.destination_country {
        qb.push(" and c.destination_country = ").push_bind(country.as_str());
    }
    if let Some(programme) = filter.programme {
        qb.push(" and c.programme = ").push_bind(programme.as_str());
    }
    if let Some(id) = filter.counsellor_id {
        qb.push(" and c.counsellor_id = ").push_bind(id);
    }
    if let Some(id) = filter.reviewer_id {
        qb.push(" and c.reviewer_id = ").push_bind(id);
    }
    if let Some(id) = filter.assignee {
        qb.push(" and (c.counsellor_id = ").push_bind(id);
        qb.push(" or c.reviewer_id = ").push_bind(id).push(")");
    }
    if let Some(overdue) = filter.overdue {
        qb.push(if overdue { " and " } else { " and not " });
        push_overdue(qb, &filter.deadline_kinds);
    }
    for (column, op, value) in [
        ("created_at", ">=", filter.created_from),
        ("created_at", "<", filter.created_to),
        ("updated_at", ">=", filter.updated_from),
        ("updated_at", "<", filter.updated_to),
    ] {
        if let Some(value) = value {
            qb.push(" and c.").push(column).push(" ").push(op).push(" ").push_bind(value);
        }
    }
    if let Some((at, id)) = filter.after {
        let sort = filter.sort.as_str();
        qb.push(" and (c.")
            .push(sort)
            .push(", c.id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
}

/// Each word must occur in the household's names or the reference (or, for readers who may
/// see them, in its ZEMIS or N numbers); `table` is the alias holding the search columns.
pub(super) fn push_search(
    qb: &mut QueryBuilder<Postgres>,
    table: &str,
    patterns: &[String],
    search_ids: bool,
) {
    for pattern in patterns {
        qb.push(" and (")
            .push(table)
            .push(".search_text like retour_fold(")
            .push_bind(pattern.clone())
            .push(")");
        if search_ids && may_match_ids(pattern) {
            qb.push(" or ")
                .push(table)
                .push(".search_ids like retour_fold(")
                .push_bind(pattern.clone())
                .push(")");
        }
        qb.push(")");
    }
}

/// Whether case `c` has an overdue open deadline of one of `kinds`.
fn push_overdue(qb: &mut QueryBuilder<Postgres>, kinds: &[DeadlineKind]) {
    let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    qb.push(
        "exists (select 1 from case_deadlines d where d.case_id = c.id \
             and d.closed_at is null and d.overdue_at is not null and d.kind = any(",
    )
    .push_bind(kinds)
    .push("))");
}
