//! The background driver: one [`tick`] every `poll_interval_ms` (and once at
//! start, so every job resumes from the store after a restart) moves each
//! non-terminal job one phase on (docs/daemons.md §O): [`offer`] (CREATED,
//! OFFERING), the chain's funding (FUNDING), [`work`] (COMPUTING),
//! [`verify`] (VERIFYING), [`dispute`] (DISPUTING), the chain's settlement
//! (AWAITING_PAYOUT). What depends on the chain is the job's
//! [`crate::settlement::Settlement`], chosen once per job. Every step
//! stores what it will need before the signature or transaction leaves the
//! process; a crash repeats the last step, and every outside call is
//! idempotent.

pub mod dispute;
pub mod offer;
pub mod replace;
pub mod verify;
pub mod work;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use crate::record::{JobRecord, JobState};
use crate::service::Outsourcer;
use crate::settlement;
use crate::Result;

/// Runs [`tick`] forever (errors are logged, the loop goes on).
pub fn spawn(o: Arc<Outsourcer>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = Duration::from_millis(o.config.common.poll_interval_ms.max(10));
        loop {
            if let Err(e) = tick(&o).await {
                tracing::warn!(error = %e, "driver tick failed");
            }
            tokio::time::sleep(period).await;
        }
    })
}

/// One pass over every non-terminal job.
pub async fn tick(o: &Arc<Outsourcer>) -> Result<()> {
    let jobs: Vec<_> = o
        .all()?
        .into_iter()
        .filter(|r| !r.state.is_terminal())
        .collect();
    // One chain-time read per chain per tick.
    let mut now: HashMap<i32, Option<u64>> = HashMap::new();
    for rec in jobs {
        let s = settlement::of(&rec);
        let chain = s.chain() as i32;
        let tip = match now.get(&chain) {
            Some(t) => *t,
            None => {
                let t = s.now(o).await.ok();
                now.insert(chain, t);
                t
            }
        };
        let Some(tip) = tip else {
            tracing::warn!(job = %rec.job_id, "chain unreachable; retrying");
            continue;
        };
        let span = bapay_daemon::job_span(&rec.job_id);
        if let Err(e) = step(o, rec, tip).instrument(span).await {
            tracing::warn!(error = %e, "driver step failed");
        }
    }
    Ok(())
}

async fn step(o: &Arc<Outsourcer>, mut rec: JobRecord, tip: u64) -> Result<()> {
    if rec.tip != tip {
        rec = o
            .update(&rec.job_id, |r| {
                r.tip = tip;
                Ok(vec![])
            })
            .await?;
    }
    let s = settlement::of(&rec);
    match rec.state {
        JobState::Created | JobState::Offering => offer::step(o, &rec).await,
        JobState::Funding => s.fund(o, &rec, tip).await,
        JobState::Computing => work::step(o, &rec, tip).await,
        JobState::Verifying => verify::step(o, &rec, tip).await,
        JobState::Disputing => dispute::step(o, &rec).await,
        JobState::AwaitingPayout => s.settle(o, &rec, tip).await,
        JobState::Completed | JobState::Cancelled | JobState::Failed => Ok(()),
    }
}
