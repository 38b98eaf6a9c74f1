//! Fee bumping by CPFP, the I/O half shared by every role: a transaction
//! whose fee was fixed when it was signed (a presigned Charge_i, Charge'_i,
//! Redeem_i, or a funding transaction) is refused or left unconfirmed after
//! the mempool minimum rose. Its receiver spends its own output in a child
//! (`bapay_core::escrow::build_cpfp`, the rule) and relays both as a
//! package. This module reads what the parent's inputs bring from the
//! chain, asks the fee rate, stores nothing itself: the caller stores the
//! [`StoredBump`] before it calls [`submit`].

use bapay_core::escrow::{build_cpfp, Cpfp};
use bitcoin::secp256k1::Keypair;
use bitcoin::{Amount, FeeRate, ScriptBuf, Transaction};
use serde::{Deserialize, Serialize};

use super::BitcoinChain;
use crate::adapter::AdapterError;
use crate::ServiceError;

/// A child that pays for a stuck parent, as a record stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredBump {
    /// The signed child, hex.
    pub tx_hex: String,
    /// Its txid.
    pub txid: String,
    /// The child's own fee, sat.
    pub fee_sat: u64,
    /// Parent and child together, sat/vB.
    pub package_rate_sat_per_vb: f64,
}

impl StoredBump {
    /// The stored form of a built child.
    pub fn of(c: &Cpfp) -> Self {
        StoredBump {
            tx_hex: hex::encode(bitcoin::consensus::serialize(&c.tx)),
            txid: c.tx.compute_txid().to_string(),
            fee_sat: c.fee.to_sat(),
            package_rate_sat_per_vb: c.package_rate_sat_per_vb,
        }
    }

    /// The raw child.
    pub fn raw(&self) -> Result<Vec<u8>, ServiceError> {
        hex::decode(&self.tx_hex).map_err(|e| ServiceError::internal("stored bump", e))
    }

    /// Does this child still pay enough at `rate` sat/vB?
    pub fn enough_for(&self, rate: f64) -> bool {
        self.package_rate_sat_per_vb + 1e-9 >= rate
    }
}

/// Did the node refuse a transaction for its fee (below the mempool
/// minimum, or too little to replace)? Those are the refusals a child can
/// fix; any other (inputs spent, non-final) it cannot.
pub fn is_fee_refusal(e: &AdapterError) -> bool {
    let m = e.0.to_ascii_lowercase();
    [
        "min relay fee not met",
        "mempool min fee not met",
        "insufficient fee",
    ]
    .iter()
    .any(|r| m.contains(r))
}

/// The output of `parent` paying `own` (the one a child may spend).
pub fn own_output(parent: &Transaction, own: &ScriptBuf) -> Option<u32> {
    parent
        .output
        .iter()
        .position(|o| o.script_pubkey == *own)
        .and_then(|i| u32::try_from(i).ok())
}

/// What `parent`'s inputs bring, read from the transactions they spend.
pub async fn inputs_value(
    chain: &dyn BitcoinChain,
    parent: &Transaction,
) -> Result<Amount, ServiceError> {
    let mut total = Amount::ZERO;
    for input in &parent.input {
        let prev = input.previous_output;
        let st = chain
            .tx_status(&prev.txid.to_string())
            .await?
            .ok_or_else(|| {
                ServiceError::unavailable(format!("{} is unknown to the node", prev.txid))
            })?;
        let tx: Transaction = bitcoin::consensus::deserialize(&st.raw_tx)
            .map_err(|e| ServiceError::internal("prevout transaction", e))?;
        let out = tx.output.get(prev.vout as usize).ok_or_else(|| {
            ServiceError::internal("prevout", format!("{prev} has no such output"))
        })?;
        total = total
            .checked_add(out.value)
            .ok_or_else(|| ServiceError::internal("prevout", "amount overflow"))?;
    }
    Ok(total)
}

/// Builds the child of `parent` spending its output to `own` back to
/// `own`, so that the package pays the node's fee rate now; at most
/// `max_fee` for the child.
pub async fn build(
    chain: &dyn BitcoinChain,
    parent: &Transaction,
    keypair: &Keypair,
    own: &ScriptBuf,
    max_fee: Amount,
) -> Result<Cpfp, ServiceError> {
    let vout = own_output(parent, own).ok_or_else(|| {
        ServiceError::internal(
            "bump",
            format!("{} pays nothing to own key", parent.compute_txid()),
        )
    })?;
    let value = inputs_value(chain, parent).await?;
    let rate = chain.fee_rate().await?;
    // One sat/vB above the node's rate, so a floor that moves a little
    // (the rolling minimum of a full mempool) does not refuse the package
    // again; sat/vB -> sat/kwu.
    let rate = FeeRate::from_sat_per_kwu(((rate.ceil() + 1.0) * 250.0).max(250.0) as u64);
    build_cpfp(parent, vout, value, keypair, own.clone(), rate, max_fee).map_err(|e| {
        ServiceError::precondition(format!("cannot bump {}: {e}", parent.compute_txid()))
    })
}

/// Relays parent and child together.
pub async fn submit(
    chain: &dyn BitcoinChain,
    parent: &[u8],
    child: &[u8],
) -> Result<Vec<String>, AdapterError> {
    chain
        .submit_package(&[parent.to_vec(), child.to_vec()])
        .await
}
