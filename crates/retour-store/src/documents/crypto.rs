//! Encryption of documents at rest.
//!
//! Every document has a data key of its own (256 random bits). Its content is encrypted with
//! AES-256-GCM in the STREAM construction (`aead-stream`, big-endian 32-bit counter): a
//! segment per [`CHUNK_SIZE`] bytes of plaintext, each with its own tag, the last one marked
//! as last, the document's id as associated data. A changed, dropped, reordered or appended
//! segment, or one of another document, fails to decrypt.
//!
//! The data key is stored only wrapped: encrypted with AES-256-GCM under a master key of the
//! installation's configuration (never in the database), bound to the document's id and the
//! master key's id. Rotating the master key re-wraps the data keys; the content is not
//! touched. Destroying a document's wrapped key makes every copy of its content unreadable.

use std::collections::HashMap;
use std::fmt;

use aead_stream::{DecryptorBE32, EncryptorBE32};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use uuid::Uuid;

/// Plaintext bytes per encrypted segment.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// What encryption adds to each segment: the GCM tag.
pub const TAG_SIZE: usize = 16;
/// The length of the STREAM nonce prefix (the GCM nonce less the counter and the last flag).
pub const NONCE_SIZE: usize = 7;
const WRAP_NONCE_SIZE: usize = 12;

/// Encryption or decryption failed: a wrong key, or data changed in storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the data failed authentication (changed in storage, or a wrong key)")]
    Authentication,
    #[error("the master key {0:?} is not configured")]
    UnknownKey(KeyName),
    #[error("the document is too long for one encryption stream")]
    TooLong,
}

/// A master key's id, short enough to copy (for error messages).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyName([u8; 32], usize);

impl KeyName {
    fn of(id: &str) -> Self {
        let mut bytes = [0; 32];
        let n = id.len().min(32);
        bytes[..n].copy_from_slice(&id.as_bytes()[..n]);
        KeyName(bytes, n)
    }
}

impl fmt::Debug for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", String::from_utf8_lossy(&self.0[..self.1]))
    }
}

/// The master keys of an installation: the current one wraps new data keys; older ones are
/// kept until `retour documents rotate-key` has re-wrapped every data key they wrapped.
#[derive(Clone)]
pub struct MasterKeys {
    current: String,
    keys: HashMap<String, [u8; 32]>,
}

impl fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("MasterKeys").field("current", &self.current).field("ids", &ids).finish()
    }
}

impl MasterKeys {
    /// Parses `id:base64,id:base64,…` (the first is the current key): ids of 1–32 letters,
    /// digits, `-` or `_`; keys of 32 bytes in standard base64.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut current = None;
        let mut keys = HashMap::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) =
                entry.split_once(':').ok_or_else(|| format!("{entry:?} is not id:base64-key"))?;
            let id = id.trim();
            if id.is_empty()
                || id.len() > 32
                || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "the key id {id:?} must be 1 to 32 letters, digits, '-' or '_'"
                ));
            }
            let bytes = STANDARD
                .decode(key.trim())
                .map_err(|e| format!("the key {id:?} is not base64: {e}"))?;
            let key: [u8; 32] = bytes.try_into().map_err(|bytes: Vec<u8>| {
                format!("the key {id:?} has {} bytes; AES-256 needs 32", bytes.len())
            })?;
            if keys.insert(id.to_owned(), key).is_some() {
                return Err(format!("the key id {id:?} is given twice"));
            }
            current.get_or_insert_with(|| id.to_owned());
        }
        let current = current.ok_or("no master key is given")?;
        Ok(MasterKeys { current, keys })
    }

    /// One key, `id`, as [`Self::parse`] would read it from `id:base64`.
    pub fn single(id: &str, key: [u8; 32]) -> Self {
        MasterKeys { current: id.to_owned(), keys: HashMap::from([(id.to_owned(), key)]) }
    }

    /// The published key of demo installations (`retour serve --demo` without keys): the
    /// SHA-256 of a phrase anyone can read here. Never for real data.
    pub fn demo() -> Self {
        use sha2::{Digest, Sha256};
        let key: [u8; 32] = Sha256::digest(b"retour demo documents: not a secret").into();
        MasterKeys::single("demo", key)
    }

    /// A fresh random key in the form [`Self::parse`] reads, for an operator to configure.
    pub fn generate_entry(id: &str) -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        format!("{id}:{}", STANDARD.encode(key))
    }

    /// The id of the key that wraps new data keys.
    pub fn current_id(&self) -> &str {
        &self.current
    }

    fn cipher(&self, id: &str) -> Result<Aes256Gcm, CryptoError> {
        let key = self.keys.get(id).ok_or(CryptoError::UnknownKey(KeyName::of(id)))?;
        Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::Authentication)
    }

    /// Wraps `key` of document `document_id` with the current master key: its id and the
    /// wrapped bytes (nonce, ciphertext and tag).
    pub fn wrap(&self, document_id: Uuid, key: &DataKey) -> Result<(String, Vec<u8>), CryptoError> {
        let id = self.current.clone();
        let cipher = self.cipher(&id)?;
        let mut nonce = [0u8; WRAP_NONCE_SIZE];
        rand::rng().fill_bytes(&mut nonce);
        let aad = wrap_aad(document_id, &id);
        let sealed = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: &key.0, aad: &aad })
            .map_err(|_| CryptoError::Authentication)?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&sealed);
        Ok((id, wrapped))
    }

    /// The data key of document `document_id`, wrapped by master key `key_id`.
    pub fn unwrap(
        &self,
        document_id: Uuid,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<DataKey, CryptoError> {
        let cipher = self.cipher(key_id)?;
        if wrapped.len() != WRAP_NONCE_SIZE + 32 + TAG_SIZE {
            return Err(CryptoError::Authentication);
        }
        let (nonce, sealed) = wrapped.split_at(WRAP_NONCE_SIZE);
        let nonce: [u8; WRAP_NONCE_SIZE] =
            nonce.try_into().map_err(|_| CryptoError::Authentication)?;
        let aad = wrap_aad(document_id, key_id);
        let key = cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: &aad })
            .map_err(|_| CryptoError::Authentication)?;
        Ok(DataKey(key.try_into().map_err(|_| CryptoError::Authentication)?))
    }
}

fn wrap_aad(document_id: Uuid, key_id: &str) -> Vec<u8> {
    let mut aad = document_id.as_bytes().to_vec();
    aad.extend_from_slice(key_id.as_bytes());
    aad
}

/// A document's own key.
pub struct DataKey([u8; 32]);

impl DataKey {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        DataKey(key)
    }

    /// A key of these bytes (a webhook subscription's signing secret is wrapped as one).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DataKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> Result<Aes256Gcm, CryptoError> {
        Aes256Gcm::new_from_slice(&self.0).map_err(|_| CryptoError::Authentication)
    }
}

/// A fresh STREAM nonce prefix for a document.
pub fn generate_nonce() -> [u8; NONCE_SIZE] {
    let mut nonce = [0u8; NONCE_SIZE];
    rand::rng().fill_bytes(&mut nonce);
    nonce
}

/// How many segments a document of `size` plaintext bytes has: full ones, and the last with
/// what is left (an empty document has one, empty).
pub fn segments(size: u64, chunk_size: usize) -> u64 {
    size.div_ceil(chunk_size as u64).max(1)
}

/// Encrypts a document as it streams in: [`Self::push`] plaintext as it arrives, and take
/// the segments it completes; [`Self::finish`] gives the last one.
pub struct Sealer {
    encryptor: EncryptorBE32<Aes256Gcm>,
    aad: [u8; 16],
    pending: Vec<u8>,
}

impl Sealer {
    pub fn new(
        key: &DataKey,
        nonce: &[u8; NONCE_SIZE],
        document_id: Uuid,
    ) -> Result<Self, CryptoError> {
        let nonce =
            aead_stream::Nonce::<Aes256Gcm, aead_stream::StreamBE32<Aes256Gcm>>::from(*nonce);
        Ok(Sealer {
            encryptor: EncryptorBE32::from_aead(key.cipher()?, &nonce),
            aad: *document_id.as_bytes(),
            pending: Vec::with_capacity(CHUNK_SIZE * 2),
        })
    }

    /// Takes the next plaintext bytes; returns the segments now complete. A full segment is
    /// held back until more bytes follow, since the last segment is marked as last.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<Vec<u8>>, CryptoError> {
        self.pending.extend_from_slice(data);
        let mut sealed = Vec::new();
        while self.pending.len() > CHUNK_SIZE {
            let rest = self.pending.split_off(CHUNK_SIZE);
            let segment = std::mem::replace(&mut self.pending, rest);
            sealed.push(
                self.encryptor
                    .encrypt_next(Payload { msg: &segment, aad: &self.aad })
                    .map_err(|_| CryptoError::TooLong)?,
            );
        }
        Ok(sealed)
    }

    /// The last segment.
    pub fn finish(self) -> Result<Vec<u8>, CryptoError> {
        self.encryptor
            .encrypt_last(Payload { msg: &self.pending, aad: &self.aad })
            .map_err(|_| CryptoError::TooLong)
    }
}

/// Decrypts a document's segments in order; the one given as last must be the last.
pub struct Opener {
    decryptor: Option<DecryptorBE32<Aes256Gcm>>,
    aad: [u8; 16],
}

impl Opener {
    pub fn new(key: &DataKey, nonce: &[u8], document_id: Uuid) -> Result<Self, CryptoError> {
        let nonce: [u8; NONCE_SIZE] = nonce.try_into().map_err(|_| CryptoError::Authentication)?;
        let nonce =
            aead_stream::Nonce::<Aes256Gcm, aead_stream::StreamBE32<Aes256Gcm>>::from(nonce);
        Ok(Opener {
            decryptor: Some(DecryptorBE32::from_aead(key.cipher()?, &nonce)),
            aad: *document_id.as_bytes(),
        })
    }

    /// The plaintext of the next segment; `last` says whether it is the document's last.
    pub fn open(&mut self, segment: &[u8], last: bool) -> Result<Vec<u8>, CryptoError> {
        let payload = Payload { msg: segment, aad: &self.aad };
        if last {
            let decryptor = self.decryptor.take().ok_or(CryptoError::Authentication)?;
            decryptor.decrypt_last(payload).map_err(|_| CryptoError::Authentication)
        } else {
            let decryptor = self.decryptor.as_mut().ok_or(CryptoError::Authentication)?;
            decryptor.decrypt_next(payload).map_err(|_| CryptoError::Authentication)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> MasterKeys {
        MasterKeys::single("k1", [7; 32])
    }

    fn seal(
        key: &DataKey,
        nonce: &[u8; NONCE_SIZE],
        id: Uuid,
        data: &[u8],
        step: usize,
    ) -> Vec<Vec<u8>> {
        let mut sealer = Sealer::new(key, nonce, id).expect("sealer");
        let mut segments = Vec::new();
        for part in data.chunks(step.max(1)) {
            segments.extend(sealer.push(part).expect("push"));
        }
        segments.push(sealer.finish().expect("finish"));
        segments
    }

    fn open(
        key: &DataKey,
        nonce: &[u8],
        id: Uuid,
        segments: &[Vec<u8>],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut opener = Opener::new(key, nonce, id)?;
        let mut out = Vec::new();
        for (i, segment) in segments.iter().enumerate() {
            out.extend(opener.open(segment, i + 1 == segments.len())?);
        }
        Ok(out)
    }

    #[test]
    fn a_document_comes_back_whatever_the_size_and_pieces() {
        let key = DataKey::generate();
        let nonce = generate_nonce();
        let id = Uuid::from_u128(1);
        for size in [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 17] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            for step in [1000, CHUNK_SIZE, 5 * CHUNK_SIZE] {
                let segments = seal(&key, &nonce, id, &data, step);
                assert_eq!(segments.len() as u64, segments_for(size), "size {size}");
                assert!(segments.iter().all(|s| s.len() <= CHUNK_SIZE + TAG_SIZE));
                assert_eq!(open(&key, &nonce, id, &segments).expect("opens"), data);
            }
        }
    }

    fn segments_for(size: usize) -> u64 {
        segments(size as u64, CHUNK_SIZE)
    }

    #[test]
    fn a_changed_dropped_or_moved_segment_fails() {
        let key = DataKey::generate();
        let nonce = generate_nonce();
        let id = Uuid::from_u128(1);
        let data = vec![42u8; 2 * CHUNK_SIZE + 5];
        let segments = seal(&key, &nonce, id, &data, CHUNK_SIZE);
        let mut flipped = segments.clone();
        flipped[1][10] ^= 1;
        assert_eq!(open(&key, &nonce, id, &flipped), Err(CryptoError::Authentication));
        let truncated = &segments[..2];
        assert_eq!(open(&key, &nonce, id, truncated), Err(CryptoError::Authentication));
        let swapped = vec![segments[1].clone(), segments[0].clone(), segments[2].clone()];
        assert_eq!(open(&key, &nonce, id, &swapped), Err(CryptoError::Authentication));
        assert_eq!(
            open(&key, &nonce, Uuid::from_u128(2), &segments),
            Err(CryptoError::Authentication),
            "bound to the document"
        );
    }

    #[test]
    fn a_wrapped_key_opens_with_its_master_key_only_for_its_document() {
        let keys = keys();
        let id = Uuid::from_u128(5);
        let key = DataKey::generate();
        let (key_id, wrapped) = keys.wrap(id, &key).expect("wrap");
        assert_eq!(key_id, "k1");
        assert_eq!(keys.unwrap(id, "k1", &wrapped).expect("unwrap").0, key.0);
        assert!(keys.unwrap(Uuid::from_u128(6), "k1", &wrapped).is_err());
        let other = MasterKeys::single("k1", [8; 32]);
        assert_eq!(other.unwrap(id, "k1", &wrapped).err(), Some(CryptoError::Authentication));
        assert!(matches!(keys.unwrap(id, "k2", &wrapped), Err(CryptoError::UnknownKey(_))));
    }

    #[test]
    fn master_keys_are_parsed_strictly() {
        let entry = MasterKeys::generate_entry("2026-a");
        let second = MasterKeys::generate_entry("old");
        let keys = MasterKeys::parse(&format!("{entry}, {second}")).expect("parses");
        assert_eq!(keys.current_id(), "2026-a");
        assert!(MasterKeys::parse("").is_err());
        assert!(MasterKeys::parse("k1:AAAA").expect_err("short").contains("32"));
        assert!(MasterKeys::parse("bad id:AAAA").is_err());
        assert!(
            MasterKeys::parse(&format!("{entry},{entry}")).expect_err("twice").contains("twice")
        );
        assert!(!format!("{keys:?}").contains(entry.split(':').nth(1).expect("key")));
    }
}
