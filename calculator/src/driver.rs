//! The background driver: one [`tick`] every `poll_interval_ms`, and once at
//! start, so everything resumes from the store after a restart. A tick
//! loads the non-terminal sub-tasks and hands each chain's records to its
//! settlement (`crate::settlement`), which moves them on: escrow depth,
//! the computation, the claim at t, withdrawals. A tick with no
//! non-terminal record asks the chains nothing.

use std::sync::Arc;
use std::time::Duration;

use crate::record;
use crate::service::Calculator;
use crate::settlement;
use crate::Result;

/// Runs [`tick`] forever (errors are logged, the loop goes on).
pub fn spawn(c: Arc<Calculator>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = Duration::from_millis(c.config.common.poll_interval_ms.max(10));
        loop {
            if let Err(e) = tick(&c).await {
                tracing::warn!(error = %e, "driver tick failed");
            }
            tokio::time::sleep(period).await;
        }
    })
}

/// One pass over every non-terminal record, chain by chain.
pub async fn tick(c: &Arc<Calculator>) -> Result<()> {
    let records: Vec<_> = record::all(c.store.as_ref())?
        .into_iter()
        .map(|(r, _)| r)
        .filter(|r| !r.state.is_terminal())
        .collect();
    for (s, recs) in settlement::by_chain(records) {
        if let Err(e) = s.tick(c, recs).await {
            tracing::warn!(error = %e, "driver pass failed");
        }
    }
    Ok(())
}
