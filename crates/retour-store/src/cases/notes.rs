//! Notes on a case: append-only, each visible to its institution or shared.

use super::*;

/// A note on a case.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StoredNote {
    pub id: Uuid,
    pub case_id: Uuid,
    pub author_id: Uuid,
    pub author_name: String,
    pub institution_id: Uuid,
    pub institution_name: String,
    #[serde(deserialize_with = "visibility")]
    pub visibility: NoteVisibility,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub(super) fn visibility<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<NoteVisibility, D::Error> {
    let text = String::deserialize(d)?;
    NoteVisibility::parse(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown visibility {text:?}")))
}

/// A note of the table aliased `n` with its author `u` and institution `i`, as JSON; the
/// statement that appends a note returns the same object.
pub(super) const NOTE_JSON: &str = "json_build_object('id', n.id, 'case_id', n.case_id, \
    'author_id', n.author_id, 'author_name', u.display_name, 'institution_id', n.institution_id, \
    'institution_name', i.name, 'visibility', n.visibility, 'body', n.body, \
    'created_at', n.created_at)";

/// Appends a note by `author_id` of `institution_id`.
pub async fn insert_note(
    conn: &mut PgConnection,
    case_id: Uuid,
    author_id: Uuid,
    institution_id: Uuid,
    note: &NewNote,
) -> Result<StoredNote, StoreError> {
    // The note as NOTE_JSON has it.
    let Json(note) = sqlx::query_scalar!(
        r#"with n as (insert into case_notes (id, case_id, author_id, institution_id, visibility,
             body) values ($1, $2, $3, $4, $5, $6) returning *)
         select json_build_object('id', n.id, 'case_id', n.case_id, 'author_id', n.author_id,
             'author_name', u.display_name, 'institution_id', n.institution_id,
             'institution_name', i.name, 'visibility', n.visibility, 'body', n.body,
             'created_at', n.created_at) as "note!: Json<StoredNote>"
         from n join users u on u.id = n.author_id
             join institutions i on i.id = n.institution_id"#,
        Uuid::now_v7(),
        case_id,
        author_id,
        institution_id,
        note.visibility.as_str(),
        note.body,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(note)
}

/// The notes of a case that a reader of `institution_id` may see (shared ones and their
/// institution's own), oldest first, selected only when the case is within `scope`.
#[derive(Debug)]
pub enum NotesRead {
    Visible { head: Box<CaseHead>, notes: Vec<StoredNote> },
    OutOfScope,
    Missing,
}

#[derive(sqlx::FromRow)]
pub(super) struct NotesRow {
    #[sqlx(flatten)]
    pub(super) head: HeadRow,
    pub(super) in_scope: bool,
    pub(super) notes: Option<Json<Vec<StoredNote>>>,
}

impl Store {
    pub async fn read_case_notes(
        &self,
        id: Uuid,
        scope: CaseScope,
        institution_id: Uuid,
    ) -> Result<NotesRead, StoreError> {
        // Built at run time: the scope condition depends on the reader.
        let mut qb = QueryBuilder::new("select ");
        qb.push(HEAD_COLUMNS).push(", coalesce((");
        push_scope(&mut qb, scope);
        qb.push("), false) as in_scope, case when coalesce((");
        push_scope(&mut qb, scope);
        qb.push("), false) then (select coalesce(json_agg(")
            .push(NOTE_JSON)
            .push(
                " order by n.created_at, n.id), '[]'::json) from case_notes n \
                 join users u on u.id = n.author_id join institutions i on i.id = n.institution_id \
                 where n.case_id = c.id and (n.visibility = 'shared' or n.institution_id = ",
            )
            .push_bind(institution_id)
            .push(")) end as notes from cases c where c.id = ")
            .push_bind(id);
        let row: Option<NotesRow> = qb.build_query_as().fetch_optional(self.pool()).await?;
        match row {
            None => Ok(NotesRead::Missing),
            Some(row) if !row.in_scope => Ok(NotesRead::OutOfScope),
            Some(row) => Ok(NotesRead::Visible {
                head: Box::new(row.head.try_into()?),
                notes: row.notes.map(|Json(n)| n).unwrap_or_default(),
            }),
        }
    }
}
