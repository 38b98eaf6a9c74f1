//! The background driver: one [`tick`] every `poll_interval_ms` (and once at
//! start, so every job resumes from the store after a restart) moves each
//! non-terminal job one phase on (docs/daemons.md §O):
//! [`offer`] (CREATED, OFFERING), [`funding`] (FUNDING), [`work`]
//! (COMPUTING), [`verify`] (VERIFYING), [`dispute`] (DISPUTING),
//! [`settle`] (AWAITING_PAYOUT). Every step stores what it will need before
//! the signature or transaction leaves the process; a crash repeats the
//! last step, and every outside call is idempotent.

pub mod dispute;
pub mod funding;
pub mod offer;
pub mod settle;
pub mod verify;
pub mod work;

use std::sync::Arc;
use std::time::Duration;

use bapay_core::escrow::{EscrowParams, EscrowTerms};
use bitcoin::{Amount, XOnlyPublicKey};
use tracing::Instrument;

use crate::error::{OutsourcerError, Result};
use crate::record::{ChainKind, JobRecord, JobState};
use crate::service::Outsourcer;

/// Runs [`tick`] forever (errors are logged, the loop goes on).
pub fn spawn(o: Arc<Outsourcer>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = Duration::from_millis(o.config.poll_interval_ms.max(10));
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
    let btc = jobs.iter().any(|r| r.chain == ChainKind::Bitcoin);
    let eth = jobs.iter().any(|r| r.chain == ChainKind::Ethereum);
    let btc_tip = if btc {
        o.chain.tip_height().await.ok()
    } else {
        None
    };
    let eth_now = match (eth, o.eth.as_ref()) {
        (true, Some((s, _))) => s.chain_info().await.ok().map(|i| i.block_timestamp),
        _ => None,
    };
    for rec in jobs {
        // Bitcoin jobs run on heights, Ethereum jobs on block time.
        let tip = match rec.chain {
            ChainKind::Bitcoin => btc_tip,
            ChainKind::Ethereum => eth_now,
        };
        let Some(tip) = tip else {
            tracing::warn!(job = %rec.job_id, "chain unreachable; retrying");
            continue;
        };
        let id = rec.job_id.clone();
        let span = bapay_daemon::job_span(&id);
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
    match rec.state {
        JobState::Created | JobState::Offering => offer::step(o, &rec).await,
        JobState::Funding if rec.chain == ChainKind::Ethereum => crate::eth::fund(o, &rec).await,
        JobState::Funding => funding::step(o, &rec, tip).await,
        JobState::Computing => work::step(o, &rec, tip).await,
        JobState::Verifying => verify::step(o, &rec).await,
        JobState::Disputing => dispute::step(o, &rec, tip).await,
        JobState::AwaitingPayout if rec.chain == ChainKind::Ethereum => {
            crate::eth::settle(o, &rec, tip).await
        }
        JobState::AwaitingPayout => settle::step(o, &rec, tip).await,
        JobState::Completed | JobState::Cancelled | JobState::Failed => Ok(()),
    }
}

pub(crate) fn hex_key(what: &str, h: &str) -> Result<XOnlyPublicKey> {
    let b = JobRecord::unhex(what, h)?;
    XOnlyPublicKey::from_slice(&b).map_err(|e| OutsourcerError::internal(what, e))
}

/// The escrow terms of the job (every calculator key must be known).
pub fn params(rec: &JobRecord) -> Result<EscrowParams> {
    let calculators = rec
        .slots
        .iter()
        .map(|s| {
            s.key
                .as_deref()
                .ok_or_else(|| {
                    OutsourcerError::Internal(format!("calculator {} key unknown", s.index))
                })
                .and_then(|k| hex_key("calculator key", k))
        })
        .collect::<Result<Vec<_>>>()?;
    let timeout =
        u32::try_from(rec.payout_height).map_err(|e| OutsourcerError::internal("t", e))?;
    EscrowParams::new(EscrowTerms {
        outsourcer: hex_key("outsourcer key", &rec.outsourcer_key)?,
        arbiter: hex_key("arbiter key", &rec.arbiter_key)?,
        calculators,
        collusion_key: hex_key("collusion key", &rec.collusion_key)?,
        fee: Amount::from_sat(rec.fee_sat),
        deposit: Amount::from_sat(rec.deposit_sat),
        timeout,
        threshold: None,
    })
    .map_err(|e| OutsourcerError::internal("escrow terms", e))
}

/// The fee rate of the job.
pub fn rate(rec: &JobRecord) -> Result<bitcoin::FeeRate> {
    bitcoin::FeeRate::from_sat_per_vb(rec.fee_rate)
        .ok_or_else(|| OutsourcerError::Internal("fee rate overflow".into()))
}

/// The gRPC job id bytes.
pub fn id_bytes(rec: &JobRecord) -> Vec<u8> {
    hex::decode(&rec.job_id).unwrap_or_default()
}

/// The slot's token bytes.
pub fn token(rec: &JobRecord, i: usize) -> Vec<u8> {
    rec.slots
        .get(i)
        .and_then(|s| hex::decode(&s.job_token).ok())
        .unwrap_or_default()
}
