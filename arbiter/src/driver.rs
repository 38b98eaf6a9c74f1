//! T's background task: the only dispute T decides later than the Dispute
//! call is an unresponsive one, which waits for the calculator's answer
//! (`dispute::unresponsive`). Every `poll_interval_ms` it asks each open
//! one again; after a restart it picks them up from the store.

use std::sync::Arc;
use std::time::Duration;

use crate::service::Arbiter;

/// Starts the driver; abort the handle to stop it.
pub fn spawn(a: Arc<Arbiter>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = Duration::from_millis(a.config.common.poll_interval_ms.max(50));
        loop {
            if let Err(e) = crate::dispute::unresponsive::tick(&a).await {
                tracing::warn!(error = %e, "arbiter driver pass failed");
            }
            tokio::time::sleep(every).await;
        }
    })
}
