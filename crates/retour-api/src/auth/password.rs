//! Password hashing with argon2id, on a small pool of dedicated threads.
//!
//! Each hash needs 19 MiB. Run on tokio's blocking pool, a burst of sign-ins spreads the
//! work over dozens of threads, and the allocator keeps each thread's 19 MiB after the hash
//! is done: a login benchmark grew the server past 4 GB. With one thread per core, at most
//! that many hashes run at once (they are CPU-bound, so more would not be faster), others
//! queue. Each thread verifies sign-ins in one 19 MiB block of its own, allocated once:
//! allocating and freeing it for every sign-in left the allocator holding some 150 MB.

use std::cell::RefCell;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{LazyLock, Mutex};

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};
use subtle::ConstantTimeEq;

/// argon2id with OWASP's minimum: 19 MiB of memory, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a password nobody has, verified when the email is unknown so that an unknown
/// email costs as much time as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("retour-dummy-password-never-used").unwrap_or_default());

fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    Ok(argon2().hash_password(password.as_bytes())?.to_string())
}

thread_local! {
    /// The memory a hashing thread verifies in, kept from one sign-in to the next.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Whether `password` is the one `hash` (a PHC string) was made from: the stored hash's own
/// algorithm, version and parameters, its output compared in constant time.
fn verify_blocking(password: &str, hash: &str) -> bool {
    let Ok(hash) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else { return false };
    let Ok(version) = hash.version.map_or(Ok(Version::default()), Version::try_from) else {
        return false;
    };
    let Ok(params) = Params::try_from(&hash) else { return false };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut output = vec![0u8; expected.len()];
    let computed = if blocks <= STANDARD_BLOCKS {
        MEMORY.with_borrow_mut(|memory| {
            memory.resize(blocks, Block::default());
            argon2.hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                &mut output,
                &mut memory[..blocks],
            )
        })
    } else {
        // A stored hash with more memory than ours (none is): not kept afterwards.
        argon2.hash_password_into(password.as_bytes(), salt, &mut output)
    };
    computed.is_ok() && bool::from(output.ct_eq(expected.as_bytes()))
}

/// The blocks (of 1 KiB) of the parameters passwords are hashed with.
const STANDARD_BLOCKS: usize = 19 * 1024;

type Job = Box<dyn FnOnce() + Send>;

/// The queue of the hashing threads; `None` if no thread could be started.
static WORKERS: LazyLock<Option<Mutex<Sender<Job>>>> = LazyLock::new(|| {
    let (sender, receiver) = std::sync::mpsc::channel::<Job>();
    let receiver = std::sync::Arc::new(Mutex::new(receiver));
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut started = 0;
    for i in 0..threads {
        let receiver = std::sync::Arc::clone(&receiver);
        let spawned =
            std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || work(&receiver));
        match spawned {
            Ok(_) => started += 1,
            Err(error) => tracing::warn!(%error, "could not start a password-hashing thread"),
        }
    }
    (started > 0).then(|| Mutex::new(sender))
});

fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Runs `f` on a hashing thread (or, failing that, on tokio's blocking pool).
async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = reply.send(f());
    });
    let rejected = match WORKERS.as_ref().map(Mutex::lock) {
        Some(Ok(sender)) => sender.send(job).err().map(|e| e.0),
        _ => Some(job),
    };
    if let Some(job) = rejected {
        tokio::task::spawn_blocking(job).await.ok()?;
    }
    answer.await.ok()
}

/// Hashes a password (PHC string with a random salt).
pub async fn hash(password: String) -> Result<String, PasswordError> {
    run(move || hash_blocking(&password)).await.ok_or(PasswordError)?.map_err(|_| PasswordError)
}

/// Checks a password against a stored hash, or against the dummy hash when there is none.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    run(move || match hash {
        Some(hash) => verify_blocking(&password, &hash),
        None => {
            verify_blocking(&password, &DUMMY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Hashing failed (it does not, short of memory exhaustion).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct PasswordError;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashing_on_the_worker_threads_round_trips_under_concurrency() {
        let hash = hash("correct horse battery".to_owned()).await.expect("hash");
        let checks = (0..8).map(|i| {
            let hash = hash.clone();
            let password = if i % 2 == 0 { "correct horse battery" } else { "wrong horse battery" };
            tokio::spawn(verify(password.to_owned(), Some(hash)))
        });
        let mut results = Vec::new();
        for check in checks {
            results.push(check.await.expect("task"));
        }
        assert_eq!(results, [true, false, true, false, true, false, true, false]);
        assert!(!verify("anything".to_owned(), None).await, "no hash never verifies");
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_blocking("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_blocking("correct horse battery", &hash));
        assert!(!verify_blocking("wrong horse battery", &hash));
        assert!(!verify_blocking("x", "not a hash"));
    }

    #[test]
    fn hashes_made_with_other_parameters_verify_as_the_library_does() {
        use argon2::PasswordVerifier;
        let weaker = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(64, 1, 1, None).expect("params"),
        );
        let hash = weaker.hash_password(b"an older password").expect("hash").to_string();
        assert!(hash.starts_with("$argon2i$v=16$m=64,t=1,p=1$"), "{hash}");
        assert!(verify_blocking("an older password", &hash));
        assert!(!verify_blocking("an older passwore", &hash));
        assert!(Argon2::default().verify_password(b"an older password", hash.as_str()).is_ok());
        // The same thread verifies the standard parameters again, in memory it kept.
        let standard = hash_blocking("correct horse battery").expect("hash");
        assert!(verify_blocking("correct horse battery", &standard));
        assert_eq!(MEMORY.with_borrow(Vec::len), STANDARD_BLOCKS);
        // A hash whose output was cut short or extended does not verify.
        let (head, _) = standard.rsplit_once('$').expect("output");
        assert!(!verify_blocking("correct horse battery", &format!("{head}$AAAA")));
    }
}
