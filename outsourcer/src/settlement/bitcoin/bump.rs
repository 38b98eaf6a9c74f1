//! O's fee bumps by CPFP. Two of O's transactions can be stuck below a
//! risen mempool minimum: Redeem_i (its fee fixed when T signed it) and the
//! funding transaction (its txid is what every presigned Charge_i spends,
//! so it can never be re-signed at a higher fee). O spends its own output
//! of each, Redeem_i's payout or the funding's change, in a child paying for
//! both, stores the child, then relays both as one package. The child
//! spends only O's own output, to O's own script, with a fee bounded by
//! `max_bump_fee_sat`.

use bapay_daemon::btc::bump::{self, StoredBump};
use bapay_daemon::{codec, AdapterError, ServiceError};
use bitcoin::Amount;

use crate::record::JobRecord;
use crate::service::{Note, Outsourcer};
use crate::Result;

/// Which of O's transactions is bumped (where its child is stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// The funding transaction, from O's change.
    Funding,
    /// Redeem_i of slot i, from its payout to O.
    Redeem(u32),
}

fn stored(rec: &JobRecord, what: Parent) -> Result<Option<StoredBump>> {
    Ok(match what {
        Parent::Funding => rec
            .btc()?
            .funding
            .as_ref()
            .and_then(|f| f.bump.as_deref().cloned()),
        Parent::Redeem(i) => rec
            .slots
            .get(i as usize)
            .map(|s| s.btc())
            .transpose()?
            .and_then(|b| b.redeem.as_ref())
            .and_then(|r| r.bump.as_deref().cloned()),
    })
}

fn store(rec: &mut JobRecord, what: Parent, b: StoredBump) -> Result<()> {
    let missing = || ServiceError::internal("bump", "the bumped transaction is not stored");
    match what {
        Parent::Funding => {
            rec.btc_mut()?.funding.as_mut().ok_or_else(missing)?.bump = Some(Box::new(b))
        }
        Parent::Redeem(i) => {
            let slot = rec.slots.get_mut(i as usize).ok_or_else(missing)?;
            slot.btc_mut()?.redeem.as_mut().ok_or_else(missing)?.bump = Some(Box::new(b))
        }
    }
    Ok(())
}

/// Relays `raw`; if the node refuses it for its fee, relays it with a
/// child: the stored one if it still pays the node's rate, else a new one,
/// stored first. Any other refusal is returned for the caller to judge.
pub async fn relay(
    o: &Outsourcer,
    rec: &JobRecord,
    raw: &[u8],
    what: Parent,
) -> Result<std::result::Result<(), AdapterError>> {
    let refused = match o.chain.broadcast(raw).await {
        Ok(_) => return Ok(Ok(())),
        Err(e) if bump::is_fee_refusal(&e) => e,
        Err(e) => return Ok(Err(e)),
    };
    let parent = codec::transaction("stored transaction", raw)
        .map_err(|e| ServiceError::internal("stored transaction", e))?;
    let txid = parent.compute_txid().to_string();
    let rate = o.chain.fee_rate().await?;
    let child = match stored(rec, what)?.filter(|b| b.enough_for(rate)) {
        Some(b) => b,
        None => {
            let max = Amount::from_sat(o.config.max_bump_fee_sat);
            let cpfp = bump::build(
                o.chain.as_ref(),
                &parent,
                o.key.keypair(),
                &o.own_script(),
                max,
            )
            .await?;
            let b = StoredBump::of(&cpfp);
            let note = format!(
                "{txid} refused ({}): bumped by CPFP child paying {} sat ({rate:.1} sat/vB now)",
                refused.0, b.fee_sat
            );
            let kept = b.clone();
            o.update(&rec.job_id, move |r| {
                store(r, what, kept.clone())?;
                Ok(vec![match what {
                    Parent::Funding => Note::job(note),
                    Parent::Redeem(i) => Note::slot(i, note),
                }
                .tx(kept.txid)])
            })
            .await?;
            tracing::info!(job = %rec.job_id, parent = %txid, child = %b.txid, fee_sat = b.fee_sat, "bumped by CPFP");
            b
        }
    };
    Ok(bump::submit(o.chain.as_ref(), raw, &child.raw()?)
        .await
        .map(|_| ()))
}
