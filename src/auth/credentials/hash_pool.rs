//! The pool that runs password hashing away from the async workers.

use std::sync::{Arc, LazyLock};

use tokio::sync::{Semaphore, oneshot};

use super::password::{Verification, hash_password, verify_and_update, verify_password};

/// A hash of a password nobody knows, at the current cost. Logins for unknown users verify
/// against it so they take as long as logins for real ones and do not reveal which usernames
/// exist.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    let unguessable: [u8; 32] = rand::random();
    hash_password(&format!("{unguessable:?}"))
});

/// The hash pool is full: more logins are waiting than it is allowed to queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password hashing pool is saturated")]
pub struct Saturated;

/// A fixed set of threads for argon2 and bcrypt with a bounded queue in front.
///
/// Each verification holds 64 MiB for ~100 ms. Running them on the async workers would stall
/// every other request; running them on an unbounded pool lets a login flood grow memory
/// without limit. So: `workers` threads at a lower OS priority (token checks stay fast while
/// they are busy) and at most `queue` jobs waiting, past which logins are refused at once.
#[derive(Clone)]
pub struct HashPool {
    threads: Arc<rayon::ThreadPool>,
    admission: Arc<Semaphore>,
    /// Threads plus queue places: what `admission` starts with.
    capacity: usize,
}

impl HashPool {
    pub fn new(workers: usize, queue: usize) -> std::io::Result<Self> {
        let workers = workers.max(1);
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("passflow-hash-{i}"))
            .start_handler(|_| lower_thread_priority())
            .build()
            .map_err(std::io::Error::other)?;
        // Pay for the decoy once at start-up, not in the first unknown user's login.
        LazyLock::force(&DECOY_HASH);
        Ok(Self {
            threads: Arc::new(threads),
            admission: Arc::new(Semaphore::new(workers + queue)),
            capacity: workers + queue,
        })
    }

    /// [`verify_and_update`] on a pool thread. With no stored hash (unknown user) the
    /// password is checked against the decoy and never matches.
    pub async fn verify_and_update(
        &self,
        password: String,
        hash: Option<String>,
    ) -> Result<Verification, Saturated> {
        self.run(move || match hash {
            Some(hash) => verify_and_update(&password, &hash),
            None => {
                let _ = verify_password(&password, &DECOY_HASH);
                Verification::Mismatch
            }
        })
        .await
    }

    /// [`hash_password`] on a pool thread: a new password's argon2id hash.
    pub async fn hash(&self, password: String) -> Result<String, Saturated> {
        self.run(move || hash_password(&password)).await
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Saturated> {
        let permit = Arc::clone(&self.admission)
            .try_acquire_owned()
            .map_err(|_| Saturated)?;
        self.report_depth();
        let (done, result) = oneshot::channel();
        self.threads.spawn(move || {
            let result = job();
            // Free the slot before answering, so the caller can queue again at once.
            drop(permit);
            let _ = done.send(result);
        });
        // The pool never drops a job, so the sender always answers.
        let result = result.await.map_err(|_| Saturated);
        self.report_depth();
        result
    }

    fn report_depth(&self) {
        let free = self.admission.available_permits();
        crate::metrics::hash_queue_depth(self.capacity.saturating_sub(free));
    }
}

/// Hashing threads yield to the async workers: a nice value only the scheduler sees.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    // SAFETY: setpriority has no memory-safety preconditions; on Linux `who = 0` with
    // PRIO_PROCESS names the calling thread. Failure leaves the default priority, which is fine.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::demo::JOHNDOE_HASH;

    #[tokio::test(flavor = "multi_thread")]
    async fn pool_refuses_work_beyond_its_queue() {
        let pool = HashPool::new(1, 0).unwrap();
        let (started, wait) = std::sync::mpsc::channel::<()>();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let busy_pool = pool.clone();
        let busy = tokio::spawn(async move {
            busy_pool
                .run(move || {
                    started.send(()).unwrap();
                    gate.recv().unwrap();
                })
                .await
        });
        wait.recv().unwrap();
        assert_eq!(pool.run(|| ()).await, Err(Saturated));
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }

    #[tokio::test]
    async fn unknown_users_are_never_verified() {
        let pool = HashPool::new(1, 4).unwrap();
        assert_eq!(
            pool.verify_and_update("anything".into(), None).await,
            Ok(Verification::Mismatch)
        );
        assert_eq!(
            pool.verify_and_update("secret".into(), Some(JOHNDOE_HASH.into()))
                .await,
            Ok(Verification::Match { rehashed: None })
        );
    }
}
