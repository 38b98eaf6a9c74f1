//! The Bitcoin part of a sub-task: the escrow terms, the reserved coins,
//! the checked Charge_i and O's signature (C_i's only claim on its
//! deposit, stored before it signs the funding), the conversion to Pay'_i
//! and the claim, each stored before what depends on it leaves.

use bapay_core::escrow::{EscrowParams, EscrowTerms, EscrowUtxo, SlotEscrow};
use bapay_daemon::{Coin, ServiceError};
use bitcoin::{Amount, OutPoint};
use serde::{Deserialize, Serialize};

use crate::Result;

/// A presigned charge as stored: the unsigned tx and O's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCharge {
    /// Consensus bytes, hex.
    pub tx_hex: String,
    /// O's 64-byte signature, hex.
    pub outsourcer_sig_hex: String,
    /// The escrow output it spends.
    pub utxo_txid: String,
    /// Its vout.
    pub utxo_vout: u32,
    /// Its value, sat.
    pub utxo_value_sat: u64,
    /// Dep_i, the charge's second input (None with trap_deposit).
    pub deposit: Option<Coin>,
}

fn escrow_utxo(txid: &str, vout: u32, value_sat: u64) -> Result<EscrowUtxo> {
    Ok(EscrowUtxo {
        outpoint: OutPoint {
            txid: txid
                .parse()
                .map_err(|e| ServiceError::internal("stored escrow txid", e))?,
            vout,
        },
        value: Amount::from_sat(value_sat),
    })
}

impl StoredCharge {
    /// The escrow outputs it spends.
    pub fn slot(&self) -> Result<SlotEscrow> {
        Ok(SlotEscrow {
            pay: escrow_utxo(&self.utxo_txid, self.utxo_vout, self.utxo_value_sat)?,
            deposit: match &self.deposit {
                None => None,
                Some(d) => Some(escrow_utxo(&d.txid, d.vout, d.value_sat)?),
            },
        })
    }
}

/// A coin's stored form from an escrow output.
pub fn coin_of(u: &EscrowUtxo) -> Coin {
    Coin {
        txid: u.outpoint.txid.to_string(),
        vout: u.outpoint.vout,
        value_sat: u.value.to_sat(),
    }
}

/// The Bitcoin part of a sub-task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BtcSub {
    /// Pay_k terms.
    pub terms: EscrowTerms,
    /// Fee rate of the offer, sat/vB.
    pub fee_rate_sat_per_vb: f64,
    /// Result deadline height.
    pub result_deadline_height: u64,
    /// Reserved coins.
    pub coins: Vec<Coin>,
    /// Script of the funding change and of the charges' payout (own P2TR).
    pub payout_script_hex: String,
    /// Offer expiry, Unix ms.
    pub expires_unix_ms: u64,
    /// Checked Charge_i.
    pub charge: Option<StoredCharge>,
    /// Funding txid once signed.
    pub funding_txid: Option<String>,
    /// Checked Charge'_i.
    pub charge_prime: Option<StoredCharge>,
    /// Pay'_i terms.
    pub converted_terms: Option<EscrowTerms>,
    /// Conversion txid once signed.
    pub conversion_txid: Option<String>,
    /// The claim (finalized Charge_i / Charge'_i), hex, stored before broadcast.
    pub claim_tx_hex: Option<String>,
    /// Its txid.
    pub claim_txid: Option<String>,
    /// The claim is the reclaim of Dep_i alone (Pay_i was swept).
    #[serde(default)]
    pub reclaim: bool,
    /// Tip height when the claim was stored (how long it has waited).
    #[serde(default)]
    pub claim_height: Option<u64>,
    /// The CPFP child paying for a claim stuck below the mempool minimum,
    /// stored before it is relayed.
    #[serde(default)]
    pub bump: Option<bapay_daemon::btc::bump::StoredBump>,
}

impl BtcSub {
    /// The validated terms.
    pub fn params(&self) -> Result<EscrowParams> {
        EscrowParams::new(self.terms.clone()).map_err(|e| ServiceError::internal("stored terms", e))
    }

    /// t, the absolute height.
    pub fn t(&self) -> u64 {
        u64::from(self.terms.timeout)
    }
}
