//! Documents of a case: their records, their encrypted content (in the database, chunk by
//! chunk, or in an object store) and the re-wrapping of their keys.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::StoreError;

pub mod content;
pub mod crypto;
pub mod objects;

/// A document as stored: its record, and what decrypting it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    pub id: Uuid,
    pub case_id: Uuid,
    /// The id of the first version of the document.
    pub series_id: Uuid,
    pub version: i32,
    pub category: String,
    pub description: Option<String>,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: Vec<u8>,
    pub storage: String,
    pub chunk_size: i32,
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
    pub nonce: Vec<u8>,
    pub uploaded_at: DateTime<Utc>,
    pub uploaded_by: Uuid,
    pub uploaded_by_institution: Uuid,
    pub superseded_by: Option<Uuid>,
    pub superseded_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub deleted_by: Option<Uuid>,
    pub deletion_reason: Option<String>,
}

impl StoredDocument {
    /// Neither replaced by a newer version nor deleted.
    pub fn is_current(&self) -> bool {
        self.superseded_by.is_none() && self.deleted_at.is_none()
    }
}

/// A document's record, written once its content is stored.
#[derive(Debug, Clone)]
pub struct NewDocument<'a> {
    pub id: Uuid,
    pub case_id: Uuid,
    pub series_id: Uuid,
    pub version: i32,
    pub category: &'a str,
    pub description: Option<&'a str>,
    pub file_name: &'a str,
    pub media_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a [u8],
    pub storage: &'a str,
    pub chunk_size: i32,
    pub key_id: &'a str,
    pub wrapped_key: &'a [u8],
    pub nonce: &'a [u8],
    pub uploaded_by: Uuid,
    pub uploaded_by_institution: Uuid,
}

macro_rules! select_documents {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            StoredDocument,
            "select id, case_id, series_id, version, category, description, file_name, \
                 media_type, size_bytes, sha256, storage, chunk_size, key_id, wrapped_key, nonce, \
                 uploaded_at, uploaded_by, uploaded_by_institution, superseded_by, superseded_at, \
                 deleted_at, deleted_by, deletion_reason \
             from documents " + $tail,
            $($arg),*
        )
    };
}

/// Writes a document's record (its content is written before, in the same transaction).
pub async fn insert_document(
    conn: &mut PgConnection,
    d: &NewDocument<'_>,
) -> Result<StoredDocument, StoreError> {
    let stored = sqlx::query_as!(
        StoredDocument,
        "insert into documents (id, case_id, series_id, version, category, description, \
             file_name, media_type, size_bytes, sha256, storage, chunk_size, key_id, wrapped_key, \
             nonce, uploaded_by, uploaded_by_institution) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         returning id, case_id, series_id, version, category, description, file_name, \
             media_type, size_bytes, sha256, storage, chunk_size, key_id, wrapped_key, nonce, \
             uploaded_at, uploaded_by, uploaded_by_institution, superseded_by, superseded_at, \
             deleted_at, deleted_by, deletion_reason",
        d.id,
        d.case_id,
        d.series_id,
        d.version,
        d.category,
        d.description,
        d.file_name,
        d.media_type,
        d.size_bytes,
        d.sha256,
        d.storage,
        d.chunk_size,
        d.key_id,
        d.wrapped_key,
        d.nonce,
        d.uploaded_by,
        d.uploaded_by_institution,
    )
    .fetch_one(conn)
    .await?;
    Ok(stored)
}

/// Stores one encrypted segment of a document kept in the database.
pub async fn insert_chunk(
    conn: &mut PgConnection,
    document_id: Uuid,
    seq: i32,
    bytes: &[u8],
) -> Result<(), StoreError> {
    sqlx::query!(
        "insert into document_chunks (document_id, seq, bytes) values ($1, $2, $3)",
        document_id,
        seq,
        bytes
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Up to `count` encrypted segments of a document kept in the database, from `from` on.
pub async fn read_chunks(
    pool: &PgPool,
    document_id: Uuid,
    from: i32,
    count: i32,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let rows = sqlx::query_scalar!(
        "select bytes from document_chunks where document_id = $1 and seq >= $2 \
         order by seq limit $3",
        document_id,
        from,
        i64::from(count)
    )
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// The documents of a case in the given categories (those the reader may see), every version,
/// by series (oldest first) and version.
pub async fn list_documents(
    pool: &PgPool,
    case_id: Uuid,
    categories: &[String],
) -> Result<Vec<StoredDocument>, StoreError> {
    let rows = select_documents!(
        "where case_id = $1 and category = any($2) order by series_id, version",
        case_id,
        categories
    )
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// A document of a case.
pub async fn find_document(
    conn: &mut PgConnection,
    case_id: Uuid,
    document_id: Uuid,
) -> Result<Option<StoredDocument>, StoreError> {
    let row = select_documents!("where case_id = $1 and id = $2", case_id, document_id)
        .fetch_optional(conn)
        .await?;
    Ok(row)
}

/// A document of a case, locked for the rest of the transaction.
pub async fn lock_document(
    conn: &mut PgConnection,
    case_id: Uuid,
    document_id: Uuid,
) -> Result<Option<StoredDocument>, StoreError> {
    let row = select_documents!("where case_id = $1 and id = $2 for update", case_id, document_id)
        .fetch_optional(conn)
        .await?;
    Ok(row)
}

/// Marks document `old` as replaced by `new`.
pub async fn supersede(conn: &mut PgConnection, old: Uuid, new: Uuid) -> Result<(), StoreError> {
    sqlx::query!(
        "update documents set superseded_by = $2, superseded_at = now() \
         where id = $1 and superseded_by is null and deleted_at is null",
        old,
        new
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a document softly: it stays stored, with who deleted it, when and why.
pub async fn delete_document(
    conn: &mut PgConnection,
    id: Uuid,
    by: Uuid,
    reason: &str,
) -> Result<StoredDocument, StoreError> {
    let row = sqlx::query_as!(
        StoredDocument,
        "update documents set deleted_at = now(), deleted_by = $2, deletion_reason = $3 \
         where id = $1 \
         returning id, case_id, series_id, version, category, description, file_name, \
             media_type, size_bytes, sha256, storage, chunk_size, key_id, wrapped_key, nonce, \
             uploaded_at, uploaded_by, uploaded_by_institution, superseded_by, superseded_at, \
             deleted_at, deleted_by, deletion_reason",
        id,
        by,
        reason
    )
    .fetch_one(conn)
    .await?;
    Ok(row)
}

/// Whether the case has a current signed request for return assistance.
pub async fn has_return_request(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<bool, StoreError> {
    let found = sqlx::query_scalar!(
        "select exists (select 1 from documents where case_id = $1 \
             and category = 'return_request' and superseded_by is null and deleted_at is null) \
             as \"found!\"",
        case_id
    )
    .fetch_one(conn)
    .await?;
    Ok(found)
}

/// A document whose data key is to be re-wrapped.
#[derive(Debug, Clone)]
pub struct WrappedKey {
    pub id: Uuid,
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
}

/// Up to `limit` documents whose data key is wrapped by another master key than
/// `current`, locked for the transaction; those another process holds are skipped.
pub async fn keys_to_rewrap(
    conn: &mut PgConnection,
    current: &str,
    limit: i64,
) -> Result<Vec<WrappedKey>, StoreError> {
    let rows = sqlx::query_as!(
        WrappedKey,
        "select id, key_id, wrapped_key from documents where key_id <> $1 \
         order by id limit $2 for update skip locked",
        current,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// Stores a document's data key wrapped anew by master key `key_id`.
pub async fn rewrap(
    conn: &mut PgConnection,
    id: Uuid,
    key_id: &str,
    wrapped_key: &[u8],
) -> Result<(), StoreError> {
    sqlx::query!(
        "update documents set key_id = $2, wrapped_key = $3 where id = $1",
        id,
        key_id,
        wrapped_key
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What a key rotation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Data keys re-wrapped by the current master key.
    pub rewrapped: u64,
    /// Data keys still wrapped by another key (held by a transaction throughout).
    pub left: i64,
}

/// Why a rotation stopped.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("document {document_id}: {source}")]
    Key { document_id: Uuid, source: crypto::CryptoError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Re-wraps every document's data key that another master key wraps with the current key of
/// `keys`, in batches of `batch`, each its own transaction, skipping rows other transactions
/// hold (they are taken in a later round): servers keep serving documents throughout, with
/// both keys configured. The content is not touched.
pub async fn rotate_keys(
    pool: &PgPool,
    keys: &crypto::MasterKeys,
    batch: i64,
) -> Result<Rotation, RotationError> {
    let mut rotation = Rotation::default();
    for round in 0..5 {
        loop {
            let mut tx = pool.begin().await.map_err(StoreError::from)?;
            let due = keys_to_rewrap(&mut tx, keys.current_id(), batch).await?;
            if due.is_empty() {
                break;
            }
            for document in &due {
                let key = keys
                    .unwrap(document.id, &document.key_id, &document.wrapped_key)
                    .map_err(|source| RotationError::Key { document_id: document.id, source })?;
                let (key_id, wrapped) = keys
                    .wrap(document.id, &key)
                    .map_err(|source| RotationError::Key { document_id: document.id, source })?;
                rewrap(&mut tx, document.id, &key_id, &wrapped).await?;
            }
            tx.commit().await.map_err(StoreError::from)?;
            rotation.rewrapped += due.len() as u64;
        }
        rotation.left = sqlx::query_scalar!(
            "select count(*) as \"n!\" from documents where key_id <> $1",
            keys.current_id()
        )
        .fetch_one(pool)
        .await
        .map_err(StoreError::from)?;
        if rotation.left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200 * (round + 1))).await;
    }
    Ok(rotation)
}
