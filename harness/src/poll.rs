//! Readiness by polling with a deadline: the harness never sleeps a fixed
//! time hoping a process is up.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

/// Calls `check` every `interval` until it returns `Ok(Some(v))` (then `v`),
/// or an error (returned at once), or `timeout` has passed (an error naming
/// `what` and the last "not yet" reason the check gave).
pub async fn poll_until<T, F, Fut>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut check: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Result<T, String>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let reason = match check().await? {
            Ok(v) => return Ok(v),
            Err(reason) => reason,
        };
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}: {reason}");
        }
        tokio::time::sleep(interval).await;
    }
}
