//! A document's content on its way in and out: encrypted segment by segment as it streams in,
//! decrypted and checked segment by segment as it streams out, never whole in memory.

use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::crypto::{self, CHUNK_SIZE, CryptoError, DataKey, MasterKeys, Opener, Sealer};
use super::objects::{self, ObjectStorage, ObjectUpload, StoredObject};
use super::{StoredDocument, insert_chunk, read_chunks};
use crate::StoreError;

/// Where the ciphertext of new documents goes.
#[derive(Debug, Clone, Default)]
pub enum Storage {
    /// The `document_chunks` table, in the transaction that records the document.
    #[default]
    Database,
    /// An object per document in an object store, complete before the document's record is
    /// committed.
    ObjectStore(ObjectStorage),
}

impl Storage {
    /// The name stored with each document (`documents.storage`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Storage::Database => "database",
            Storage::ObjectStore(_) => "object_store",
        }
    }

    /// The object store, if new documents go to one.
    pub fn object_store(&self) -> Option<&ObjectStorage> {
        match self {
            Storage::Database => None,
            Storage::ObjectStore(objects) => Some(objects),
        }
    }
}

/// Why content could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The upload went past the installation's largest document.
    #[error("the document is larger than {0} bytes")]
    TooLarge(u64),
    /// Decryption failed, or the plaintext's length or SHA-256 is not what was recorded: the
    /// content changed in storage.
    #[error("the document failed its integrity check: {0}")]
    Integrity(String),
    /// A document kept in an object store, and none is configured.
    #[error("the document is kept in an object store, and none is configured")]
    NoObjectStore,
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The object store failed (not reachable, refused the credentials, …).
    #[error("the object store failed: {0}")]
    Object(object_store::Error),
}

impl From<object_store::Error> for ContentError {
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { path, .. } => {
                ContentError::Integrity(format!("the object {path} is missing"))
            }
            other => ContentError::Object(other),
        }
    }
}

/// What an upload wrote.
#[derive(Debug)]
pub struct Written {
    pub size: u64,
    pub sha256: [u8; 32],
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
    pub nonce: [u8; crypto::NONCE_SIZE],
    /// The object written to an object store: to be kept once the document's record is
    /// committed, discarded if the upload is refused.
    pub object: Option<StoredObject>,
}

/// Encrypts and stores a new document's content as it arrives.
pub struct ContentWriter {
    id: Uuid,
    sealer: Sealer,
    hasher: Sha256,
    size: u64,
    max: u64,
    next_seq: i32,
    key_id: String,
    wrapped_key: Vec<u8>,
    nonce: [u8; crypto::NONCE_SIZE],
    sink: Sink,
}

/// Where a writer puts the segments.
enum Sink {
    Database,
    Object(ObjectUpload),
}

impl ContentWriter {
    /// A writer of the content of document `id` of case `case_id`, at most `max` bytes, with
    /// a fresh data key wrapped by the current master key of `keys`.
    pub fn new(
        id: Uuid,
        case_id: Uuid,
        keys: &MasterKeys,
        storage: &Storage,
        max: u64,
    ) -> Result<Self, ContentError> {
        let key = DataKey::generate();
        let nonce = crypto::generate_nonce();
        let (key_id, wrapped_key) = keys.wrap(id, &key)?;
        Ok(ContentWriter {
            id,
            sealer: Sealer::new(&key, &nonce, id)?,
            hasher: Sha256::new(),
            size: 0,
            max,
            next_seq: 0,
            key_id,
            wrapped_key,
            nonce,
            sink: match storage {
                Storage::Database => Sink::Database,
                Storage::ObjectStore(objects) => {
                    Sink::Object(objects.upload(ObjectStorage::path(case_id, id)))
                }
            },
        })
    }

    /// The bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Takes the next bytes of the content.
    pub async fn write(
        &mut self,
        conn: &mut PgConnection,
        data: &[u8],
    ) -> Result<(), ContentError> {
        self.size += data.len() as u64;
        if self.size > self.max {
            return Err(ContentError::TooLarge(self.max));
        }
        self.hasher.update(data);
        for segment in self.sealer.push(data)? {
            self.store(conn, &segment).await?;
        }
        Ok(())
    }

    async fn store(&mut self, conn: &mut PgConnection, segment: &[u8]) -> Result<(), ContentError> {
        store_segment(&mut self.sink, conn, self.id, self.next_seq, segment).await?;
        self.next_seq += 1;
        Ok(())
    }

    /// Stores the last segment; what was written. In an object store, the object is
    /// complete when this returns.
    pub async fn finish(self, conn: &mut PgConnection) -> Result<Written, ContentError> {
        let ContentWriter {
            id,
            sealer,
            hasher,
            size,
            next_seq,
            key_id,
            wrapped_key,
            nonce,
            mut sink,
            ..
        } = self;
        let last = sealer.finish()?;
        store_segment(&mut sink, conn, id, next_seq, &last).await?;
        let object = match sink {
            Sink::Database => None,
            Sink::Object(upload) => Some(upload.finish().await?),
        };
        Ok(Written { size, sha256: hasher.finalize().into(), key_id, wrapped_key, nonce, object })
    }

    /// Gives up the upload: what an object store holds of it is aborted (best effort; the
    /// segments in the database go with the transaction).
    pub async fn abort(self) {
        if let Sink::Object(upload) = self.sink {
            upload.abort().await;
        }
    }
}

async fn store_segment(
    sink: &mut Sink,
    conn: &mut PgConnection,
    id: Uuid,
    seq: i32,
    segment: &[u8],
) -> Result<(), ContentError> {
    match sink {
        Sink::Database => insert_chunk(conn, id, seq, segment).await?,
        Sink::Object(upload) => upload.write(segment).await?,
    }
    Ok(())
}

/// Segments fetched from storage at a time.
const BATCH: i32 = 8;

/// Reads a stored document's content, segment by segment, decrypted and authenticated; the
/// end checks the length and SHA-256 recorded at upload.
pub struct ContentReader {
    document: StoredDocument,
    objects: Option<ObjectStorage>,
    opener: Opener,
    hasher: Sha256,
    size: u64,
    next_seq: i32,
    segments: i32,
    buffered: std::collections::VecDeque<Vec<u8>>,
}

impl ContentReader {
    /// A reader of `document`, which may be kept in the database or in `objects`.
    pub fn new(
        document: StoredDocument,
        keys: &MasterKeys,
        objects: Option<&ObjectStorage>,
    ) -> Result<Self, ContentError> {
        let key = keys.unwrap(document.id, &document.key_id, &document.wrapped_key)?;
        let opener = Opener::new(&key, &document.nonce, document.id)?;
        let chunk_size = usize::try_from(document.chunk_size).unwrap_or(CHUNK_SIZE);
        let size = u64::try_from(document.size_bytes).unwrap_or_default();
        let segments = i32::try_from(crypto::segments(size, chunk_size))
            .map_err(|_| ContentError::Integrity("too many segments".into()))?;
        Ok(ContentReader {
            document,
            objects: objects.cloned(),
            opener,
            hasher: Sha256::new(),
            size: 0,
            next_seq: 0,
            segments,
            buffered: Default::default(),
        })
    }

    /// The next piece of plaintext, or `None` at the end (after the length and hash were
    /// found as recorded).
    pub async fn next(&mut self, pool: &PgPool) -> Result<Option<Vec<u8>>, ContentError> {
        if self.next_seq == self.segments {
            return self.check_end().map(|()| None);
        }
        if self.buffered.is_empty() {
            let count = BATCH.min(self.segments - self.next_seq);
            self.buffered = match self.document.storage.as_str() {
                "database" => read_chunks(pool, self.document.id, self.next_seq, count).await?,
                "object_store" => self.read_object(count).await?,
                other => {
                    return Err(ContentError::Integrity(format!("unknown storage {other:?}")));
                }
            }
            .into();
            if self.buffered.is_empty() {
                return Err(ContentError::Integrity(format!(
                    "segment {} of {} is missing",
                    self.next_seq, self.segments
                )));
            }
        }
        let segment = self.buffered.pop_front().unwrap_or_default();
        let last = self.next_seq + 1 == self.segments;
        let plain = self.opener.open(&segment, last)?;
        self.next_seq += 1;
        self.size += plain.len() as u64;
        self.hasher.update(&plain);
        Ok(Some(plain))
    }

    /// Segments `next_seq..next_seq + count` from the document's object, with one ranged
    /// read; the object must have the size its segments make.
    async fn read_object(&self, count: i32) -> Result<Vec<Vec<u8>>, ContentError> {
        let objects = self.objects.as_ref().ok_or(ContentError::NoObjectStore)?;
        let document = &self.document;
        let chunk_size = u64::try_from(document.chunk_size).unwrap_or(CHUNK_SIZE as u64);
        let (range, expected) = objects::segment_range(
            u64::try_from(document.size_bytes).unwrap_or_default(),
            chunk_size,
            u64::try_from(self.segments).unwrap_or_default(),
            u64::try_from(self.next_seq).unwrap_or_default(),
            u64::try_from(count).unwrap_or_default(),
        );
        let wanted = range.end.saturating_sub(range.start);
        let path = ObjectStorage::path(document.case_id, document.id);
        let (size, bytes) = objects.read(&path, range).await?;
        if size != expected {
            return Err(ContentError::Integrity(format!(
                "the object is {size} bytes, its segments make {expected}"
            )));
        }
        if bytes.len() as u64 != wanted {
            return Err(ContentError::Integrity(format!(
                "{} bytes read of the object, {wanted} asked",
                bytes.len()
            )));
        }
        let segment = usize::try_from(chunk_size).unwrap_or(CHUNK_SIZE) + crypto::TAG_SIZE;
        Ok(bytes.chunks(segment).map(<[u8]>::to_vec).collect())
    }

    fn check_end(&mut self) -> Result<(), ContentError> {
        let recorded = u64::try_from(self.document.size_bytes).unwrap_or_default();
        if self.size != recorded {
            return Err(ContentError::Integrity(format!(
                "{} bytes read, {recorded} recorded",
                self.size
            )));
        }
        let hash: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        if hash.as_slice() != self.document.sha256.as_slice() {
            return Err(ContentError::Integrity(
                "the SHA-256 differs from the recorded one".into(),
            ));
        }
        Ok(())
    }

    /// Reads the whole content once, discarding it: whether every segment authenticates and
    /// the length and hash are as recorded.
    pub async fn verify(mut self, pool: &PgPool) -> Result<(), ContentError> {
        while self.next(pool).await?.is_some() {}
        Ok(())
    }
}
