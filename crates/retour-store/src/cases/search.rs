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
    /// Free text: each word must begin a word of a person's names or aliases or of the
    /// reference (and, where `search_ids`, a ZEMIS or N number), without regard to case or
    /// accents.
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

/// The words of a free-text query: a whole N number becomes its compact indexed form
/// (`n123456`); otherwise the query is split at every character that is not a letter or a
/// digit, as the stored words are (`BE-2026-00042` is `BE`, `2026` and `00042`). Each is
/// folded in SQL (`retour_fold`).
pub fn search_words(q: &str) -> Vec<String> {
    match NNumber::parse(q) {
        Some(n) => vec![n.compact()],
        None => q
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

/// The word of a query whose stored words are walked (the others are checked on each case
/// walked): the longest, which begins the fewest words.
pub(super) fn driving_word(words: &[String]) -> Option<usize> {
    (0..words.len()).max_by_key(|i| (words[*i].chars().count(), std::cmp::Reverse(*i)))
}

/// How a page of a list is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    /// No search words: the first rows of the scope's ordered index.
    Plain,
    /// The stored words sharing the first three letters of the driving word (this index of
    /// the query's words), newest change first, until a page is full (migration
    /// `search_words`).
    Walk(usize),
    /// Every case with a word the driving word begins, then sorted: for a driving word of one
    /// or two letters, or the order of opening.
    AllMatches(usize),
}

/// Letters of a word that key the walk's index: its `left(word, 3)`, which the walk's
/// statement names in the same words.
const WALK_KEY: usize = 3;

impl Store {
    /// One page of the cases within `scope` that match `filter`, newest first; one more row
    /// than `filter.limit` when there is a further page.
    pub async fn list_cases(
        &self,
        scope: CaseScope,
        filter: &CaseFilter,
    ) -> Result<Vec<CaseListRow>, StoreError> {
        let q = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        let words = q.map(search_words).unwrap_or_default();
        let pass = match driving_word(&words) {
            // A query of no word at all (`%`) matches nothing.
            None if q.is_some() => return Ok(Vec::new()),
            None => Pass::Plain,
            Some(d)
                if filter.sort == CaseSort::UpdatedAt && words[d].chars().count() >= WALK_KEY =>
            {
                Pass::Walk(d)
            }
            Some(d) => Pass::AllMatches(d),
        };
        self.list_page(scope, filter, &words, pass).await
    }

    /// One page: the ids first (from the scope's ordered index, or from the stored words),
    /// then their rows.
    pub(super) async fn list_page(
        &self,
        scope: CaseScope,
        filter: &CaseFilter,
        words: &[String],
        pass: Pass,
    ) -> Result<Vec<CaseListRow>, StoreError> {
        let sort = filter.sort.as_str();
        let fetch = i64::from(filter.limit) + 1;
        // Built at run time: the scope, the filters given, the sort and the search words.
        let mut qb = QueryBuilder::new("");
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
            Pass::Walk(d) => {
                // Distinct: a case with two words the driving word begins is walked twice,
                // one after the other.
                qb.push(
                    "select distinct w.updated_at, w.case_id as id \
                     from case_search_words w join cases c on c.id = w.case_id \
                     where left(w.word, 3) = left(retour_fold(",
                )
                .push_bind(words[d].clone())
                .push("), 3) and ");
                // Checked on each entry walked, in a form no other index serves: with the
                // range of `push_begins`, a generic plan intersects both indexes and sorts
                // every match (20 ms for a common name at 100,000 cases, against 2 ms).
                qb.push("left(w.word, char_length(retour_fold(")
                    .push_bind(words[d].clone())
                    .push("))) = retour_fold(")
                    .push_bind(words[d].clone())
                    .push(")");
                if !filter.search_ids {
                    qb.push(" and not w.is_id");
                }
                if let Some((at, id)) = filter.after {
                    qb.push(" and (w.updated_at, w.case_id) < (")
                        .push_bind(at)
                        .push(", ")
                        .push_bind(id)
                        .push(")");
                }
                qb.push(" and ");
                push_conditions(&mut qb, scope, filter);
                push_other_words(&mut qb, words, d, filter.search_ids);
                qb.push(" order by w.updated_at desc, w.case_id desc limit ").push_bind(fetch);
            }
            Pass::AllMatches(d) => {
                qb.push("select m.id from (select distinct c.id, c.").push(sort).push(
                    " as at from case_search_words w join cases c on c.id = w.case_id \
                         where ",
                );
                push_begins(&mut qb, "w", &words[d], filter.search_ids);
                qb.push(" and ");
                push_conditions(&mut qb, scope, filter);
                push_other_words(&mut qb, words, d, filter.search_ids);
                qb.push(") m order by m.at desc, m.id desc limit ").push_bind(fetch);
            }
            Pass::Plain => {
                qb.push("select c.id from cases c where ");
                push_conditions(&mut qb, scope, filter);
                qb.push(" order by c.").push(sort).push(" desc, c.id desc limit ").push_bind(fetch);
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

/// The stored word of `table` begins with `word` (folded): a range of the byte-wise index.
/// ZEMIS and N numbers only where `search_ids`.
fn push_begins(qb: &mut QueryBuilder<Postgres>, table: &str, word: &str, search_ids: bool) {
    qb.push("(")
        .push(table)
        .push(".word >= retour_fold(")
        .push_bind(word.to_owned())
        .push(") and ")
        .push(table)
        .push(".word < retour_fold(")
        .push_bind(word.to_owned())
        .push(") || chr(1114111)");
    if !search_ids {
        qb.push(" and not ").push(table).push(".is_id");
    }
    qb.push(")");
}

/// Each word of the query but the driving one begins a word of case `c`.
fn push_other_words(
    qb: &mut QueryBuilder<Postgres>,
    words: &[String],
    driving: usize,
    search_ids: bool,
) {
    for (i, word) in words.iter().enumerate() {
        if i == driving {
            continue;
        }
        qb.push(" and exists (select 1 from case_search_words x where x.case_id = c.id and ");
        push_begins(qb, "x", word, search_ids);
        qb.push(")");
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
