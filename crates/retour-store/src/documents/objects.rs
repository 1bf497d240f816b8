//! Documents kept in an S3-compatible object store: one object per document,
//! `documents/<case id>/<document id>`, holding its encrypted segments one after the other
//! (segment `i` starts at `i × (chunk size + tag)`), exactly as they would be rows of
//! `document_chunks`. The store sees only ciphertext; the keys stay in the database,
//! wrapped by the master key.

use std::ops::Range;
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use uuid::Uuid;

use super::crypto::TAG_SIZE;

/// The size of a multipart upload's parts: S3's smallest (but for the last one). An upload
/// holds at most three parts of a document in memory: the one being filled and two being
/// sent.
pub const PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts of one upload being sent when the next is filled (writing may start one more).
const PARTS_IN_FLIGHT: usize = 1;

/// An object store that keeps documents.
#[derive(Debug, Clone)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
}

/// Why the object store could not be set up from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ObjectStorageError {
    #[error(transparent)]
    Store(#[from] object_store::Error),
}

impl ObjectStorage {
    /// Documents in `store` (any implementation: S3, or an in-memory store in tests).
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        ObjectStorage { store }
    }

    /// An S3 bucket: credentials and region as the AWS tools read them from the environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, or
    /// the instance's role); `endpoint` for a server other than AWS's, plain HTTP allowed
    /// only when it says `http://`.
    pub fn s3(bucket: &str, endpoint: Option<&str>) -> Result<Self, ObjectStorageError> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = endpoint {
            let plain = endpoint.starts_with("http://");
            builder = builder.with_endpoint(endpoint).with_allow_http(plain);
        }
        Self::s3_with(builder)
    }

    /// An S3 bucket configured by `builder` (tests name their server and credentials).
    pub fn s3_with(builder: AmazonS3Builder) -> Result<Self, ObjectStorageError> {
        install_crypto_provider();
        Ok(ObjectStorage { store: Arc::new(builder.build()?) })
    }

    /// The store itself (for tools and tests that look at the objects).
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Where document `document_id` of case `case_id` is kept.
    pub fn path(case_id: Uuid, document_id: Uuid) -> Path {
        Path::from_iter(["documents".to_owned(), case_id.to_string(), document_id.to_string()])
    }

    /// Deletes the object of document `document_id` of case `case_id` (a destroyed case's).
    pub async fn delete_document(
        &self,
        case_id: Uuid,
        document_id: Uuid,
    ) -> Result<(), object_store::Error> {
        self.store.delete(&Self::path(case_id, document_id)).await
    }

    /// Writes, reads back and deletes a small object: whether the bucket is reachable and
    /// the credentials may do what documents need.
    pub async fn probe(&self) -> Result<(), object_store::Error> {
        let path = Path::from_iter(["documents", ".retour-probe"]);
        self.store.put(&path, PutPayload::from_static(b"retour")).await?;
        self.store.get(&path).await?.bytes().await?;
        self.store.delete(&path).await
    }

    /// Starts storing an object at `path`.
    pub(crate) fn upload(&self, path: Path) -> ObjectUpload {
        ObjectUpload { storage: self.clone(), path, state: UploadState::Buffering(Vec::new()) }
    }

    /// The bytes `range` of the object at `path`, and the object's whole size.
    pub(crate) async fn read(
        &self,
        path: &Path,
        range: Range<u64>,
    ) -> Result<(u64, bytes::Bytes), object_store::Error> {
        let options = GetOptions::default().with_range(Some(GetRange::Bounded(range)));
        let result = self.store.get_opts(path, options).await?;
        let size = result.meta.size;
        Ok((size, result.bytes().await?))
    }
}

/// The byte range of segments `from..from + count` of a document of `size` plaintext bytes
/// in `chunk_size` segments, and the object's expected size.
pub(crate) fn segment_range(
    size: u64,
    chunk_size: u64,
    segments: u64,
    from: u64,
    count: u64,
) -> (Range<u64>, u64) {
    let tag = TAG_SIZE as u64;
    let total = size + segments * tag;
    let start = from * (chunk_size + tag);
    let end = ((from + count) * (chunk_size + tag)).min(total);
    (start..end, total)
}

/// Rustls's crypto for HTTPS clients (reqwest's, the object store's), the same as the
/// database's (ring), set once for the process: reqwest is built without a provider of its
/// own (its default would bring aws-lc-rs in), so every process that builds a reqwest client
/// calls this first.
// rustls deprecates its ring provider for lacking post-quantum key exchange; it is the one
// the database's TLS uses (sqlx's `tls-rustls-ring`), and aws-lc-rs is kept out of the tree.
#[allow(deprecated)]
pub fn install_crypto_provider() {
    // Fails only when a provider is installed already, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

enum UploadState {
    /// Nothing sent yet: a document smaller than a part is sent with one PUT.
    Buffering(Vec<u8>),
    Multipart(WriteMultipart),
    Done,
}

/// An object being written, segment by segment. Dropped before [`Self::finish`] (a failed
/// or abandoned upload), a multipart upload started is aborted in the background.
pub(crate) struct ObjectUpload {
    storage: ObjectStorage,
    path: Path,
    state: UploadState,
}

impl ObjectUpload {
    /// Appends `segment`; sends a part when one is full, waiting while another is in flight.
    pub(crate) async fn write(&mut self, segment: &[u8]) -> Result<(), object_store::Error> {
        match &mut self.state {
            UploadState::Buffering(buffer) => {
                buffer.extend_from_slice(segment);
                if buffer.len() >= PART_SIZE {
                    let first = bytes::Bytes::from(std::mem::take(buffer));
                    let upload = self.storage.store.put_multipart(&self.path).await?;
                    let mut multipart = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
                    multipart.put(first);
                    self.state = UploadState::Multipart(multipart);
                }
            }
            UploadState::Multipart(multipart) => {
                multipart.wait_for_capacity(PARTS_IN_FLIGHT + 1).await?;
                multipart.write(segment);
            }
            UploadState::Done => {}
        }
        Ok(())
    }

    /// Completes the object; from then on it is the caller's to keep or discard.
    pub(crate) async fn finish(mut self) -> Result<StoredObject, object_store::Error> {
        match std::mem::replace(&mut self.state, UploadState::Done) {
            UploadState::Buffering(buffer) => {
                self.storage.store.put(&self.path, PutPayload::from(buffer)).await?;
            }
            // Aborts the multipart upload itself when it fails.
            UploadState::Multipart(multipart) => {
                multipart.finish().await?;
            }
            UploadState::Done => {}
        }
        Ok(StoredObject { storage: self.storage.clone(), path: self.path.clone(), armed: true })
    }

    /// Gives up the upload: aborts the multipart upload, if one was started (best effort,
    /// logged).
    pub(crate) async fn abort(mut self) {
        if let UploadState::Multipart(multipart) =
            std::mem::replace(&mut self.state, UploadState::Done)
            && let Err(error) = multipart.abort().await
        {
            tracing::warn!(path = %self.path, %error, "a document's multipart upload could not be aborted");
        }
    }
}

impl Drop for ObjectUpload {
    fn drop(&mut self) {
        if let UploadState::Multipart(multipart) =
            std::mem::replace(&mut self.state, UploadState::Done)
        {
            let path = self.path.clone();
            spawn_cleanup(async move {
                if let Err(error) = multipart.abort().await {
                    tracing::warn!(%path, %error, "an abandoned multipart upload could not be aborted");
                }
            });
        }
    }
}

/// A document's complete object whose record is not committed yet: [`Self::keep`] it once
/// the record is, [`Self::discard`] it when the upload is refused. Dropped otherwise, it is
/// deleted in the background.
#[derive(Debug)]
pub struct StoredObject {
    storage: ObjectStorage,
    path: Path,
    armed: bool,
}

impl StoredObject {
    /// The object stays: its document's record is (or may be) committed.
    pub fn keep(mut self) {
        self.armed = false;
    }

    /// Deletes the object of a refused upload (best effort, logged).
    pub async fn discard(mut self) {
        self.armed = false;
        if let Err(error) = self.storage.store.delete(&self.path).await {
            tracing::warn!(path = %self.path, %error, "the object of a refused upload could not be deleted");
        }
    }
}

impl Drop for StoredObject {
    fn drop(&mut self) {
        if self.armed {
            let store = self.storage.store.clone();
            let path = self.path.clone();
            spawn_cleanup(async move {
                if let Err(error) = store.delete(&path).await {
                    tracing::warn!(%path, %error, "the object of an abandoned upload could not be deleted");
                }
            });
        }
    }
}

fn spawn_cleanup(task: impl Future<Output = ()> + Send + 'static) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(task);
    } else {
        tracing::warn!(
            "no runtime to clean up an abandoned document upload: an object may be left"
        );
    }
}
