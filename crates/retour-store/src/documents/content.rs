//! A document's content on its way in and out: encrypted segment by segment as it streams in,
//! decrypted and checked segment by segment as it streams out, never whole in memory.

use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::crypto::{self, CHUNK_SIZE, CryptoError, DataKey, MasterKeys, Opener, Sealer};
use super::{StoredDocument, insert_chunk, read_chunks};
use crate::StoreError;

/// Where the ciphertext of new documents goes.
#[derive(Debug, Clone, Default)]
pub enum Storage {
    /// The `document_chunks` table, in the transaction that records the document.
    #[default]
    Database,
}

impl Storage {
    /// The name stored with each document (`documents.storage`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Storage::Database => "database",
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
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an upload wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub size: u64,
    pub sha256: [u8; 32],
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
    pub nonce: [u8; crypto::NONCE_SIZE],
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
    storage: Storage,
}

impl ContentWriter {
    /// A writer of document `id`'s content, at most `max` bytes, with a fresh data key
    /// wrapped by the current master key of `keys`.
    pub fn new(
        id: Uuid,
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
            storage: storage.clone(),
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
        store_segment(&self.storage, conn, self.id, self.next_seq, segment).await?;
        self.next_seq += 1;
        Ok(())
    }

    /// Stores the last segment; what was written.
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
            storage,
            ..
        } = self;
        let last = sealer.finish()?;
        store_segment(&storage, conn, id, next_seq, &last).await?;
        Ok(Written { size, sha256: hasher.finalize().into(), key_id, wrapped_key, nonce })
    }
}

async fn store_segment(
    storage: &Storage,
    conn: &mut PgConnection,
    id: Uuid,
    seq: i32,
    segment: &[u8],
) -> Result<(), ContentError> {
    match storage {
        Storage::Database => insert_chunk(conn, id, seq, segment).await?,
    }
    Ok(())
}

/// Segments fetched from storage at a time.
const BATCH: i32 = 8;

/// Reads a stored document's content, segment by segment, decrypted and authenticated; the
/// end checks the length and SHA-256 recorded at upload.
pub struct ContentReader {
    document: StoredDocument,
    opener: Opener,
    hasher: Sha256,
    size: u64,
    next_seq: i32,
    segments: i32,
    buffered: std::collections::VecDeque<Vec<u8>>,
}

impl ContentReader {
    pub fn new(document: StoredDocument, keys: &MasterKeys) -> Result<Self, ContentError> {
        let key = keys.unwrap(document.id, &document.key_id, &document.wrapped_key)?;
        let opener = Opener::new(&key, &document.nonce, document.id)?;
        let chunk_size = usize::try_from(document.chunk_size).unwrap_or(CHUNK_SIZE);
        let size = u64::try_from(document.size_bytes).unwrap_or_default();
        let segments = i32::try_from(crypto::segments(size, chunk_size))
            .map_err(|_| ContentError::Integrity("too many segments".into()))?;
        Ok(ContentReader {
            document,
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
