//! Password hashing with argon2id, on a small pool of dedicated threads.
//!
//! Each hash needs 19 MiB. Run on tokio's blocking pool, a burst of sign-ins spreads the
//! work over dozens of threads, and the allocator keeps each thread's 19 MiB after the hash
//! is done: a login benchmark grew the server past 4 GB. With one thread per core, at most
//! that many hashes run at once (they are CPU-bound, so more would not be faster), others
//! queue, and the memory stays near cores × 19 MiB.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{LazyLock, Mutex};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

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

fn verify_blocking(password: &str, hash: &str) -> bool {
    argon2().verify_password(password.as_bytes(), hash).is_ok()
}

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
}
