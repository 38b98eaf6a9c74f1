//! A claim stuck by a fee spike is bumped by CPFP. Charge_i and Charge'_i
//! carry O's signature over their exact outputs, so their fee was fixed at
//! signing; if the mempool minimum rose since, bitcoind refuses them alone
//! (or leaves them unconfirmed). C_i spends its own payout output of the
//! claim in a child that pays for both, stores the child, then relays claim
//! and child as one package (SubmitPackage). The child spends nothing but
//! C_i's own output, to C_i's own script, with a fee bounded by
//! `limits.max_bump_fee_sat`; a child that no longer pays the current rate
//! is replaced by a new one.

use bapay_daemon::btc::bump::{self, StoredBump};
use bapay_daemon::{codec, ServiceError, StoreExt};
use bitcoin::Amount;

use crate::record::{State, SubTaskRecord};
use crate::service::Calculator;
use crate::Result;

/// Should the waiting claim be bumped? It has been in the mempool for
/// `bump_after_blocks` blocks without a confirmation.
pub fn stuck(c: &Calculator, rec: &SubTaskRecord, tip: u64) -> bool {
    rec.btc()
        .ok()
        .and_then(|b| b.claim_height)
        .is_some_and(|h| tip >= h.saturating_add(c.config.limits.bump_after_blocks.max(1)))
}

/// Relays the claim `raw` (CLAIMING) with a child paying for both: the
/// stored child if it still pays the node's rate, else a new one, stored
/// first.
pub async fn bump_claim(c: &Calculator, rec: &SubTaskRecord, raw: &[u8]) -> Result<()> {
    let parent = codec::transaction("stored claim", raw)
        .map_err(|e| ServiceError::internal("stored claim", e))?;
    let parent_txid = parent.compute_txid().to_string();
    let rate = c.chain.fee_rate().await?;
    let stored = rec.btc()?.bump.clone().filter(|b| b.enough_for(rate));
    let child = match stored {
        Some(b) => b,
        None => {
            let cpfp = bump::build(
                c.chain.as_ref(),
                &parent,
                c.key.keypair(),
                &c.own_script(),
                Amount::from_sat(c.config.limits.max_bump_fee_sat),
            )
            .await?;
            let b = StoredBump::of(&cpfp);
            let why = format!(
                "claim {parent_txid} below the mempool minimum ({rate:.1} sat/vB now): bumped by CPFP child {} paying {} sat",
                b.txid, b.fee_sat
            );
            let r = c
                .update(&rec.job_id, |r| {
                    let same = r.state == State::Claiming
                        && r.btc()?.claim_txid.as_deref() == Some(parent_txid.as_str());
                    if same {
                        r.btc_mut()?.bump = Some(b.clone());
                        r.state_reason = why.clone();
                    }
                    Ok(same)
                })
                .await?;
            if r.btc()?.bump.as_ref() != Some(&b) {
                return Ok(());
            }
            tracing::info!(job = %rec.job_id, child = %b.txid, fee_sat = b.fee_sat, "claim bumped by CPFP");
            b
        }
    };
    let child_raw = child.raw()?;
    let out = c
        .store
        .record_then_async(
            &rec.job_id,
            "submit_claim_package",
            &serde_json::json!({ "parent": hex::encode(raw), "child": child.tx_hex }),
            bump::submit(c.chain.as_ref(), raw, &child_raw),
        )
        .await?;
    if let Err(e) = out {
        tracing::warn!(job = %rec.job_id, error = %e, "claim package refused; will retry");
    }
    Ok(())
}
