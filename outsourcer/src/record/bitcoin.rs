//! The Bitcoin parts of O's job: the escrow terms and the funding
//! transaction (per job); each calculator's coins, the presigned Charge_i,
//! its signed funding PSBT and, after a verdict, Redeem_i (per slot).

use bapay_core::escrow::{slot_escrow, EscrowParams, EscrowTerms, SlotEscrow, ThresholdTrap};
use bitcoin::{Amount, XOnlyPublicKey};
use serde::{Deserialize, Serialize};

use super::{unhex, JobRecord};
use crate::Result;
use bapay_daemon::ServiceError;

/// The Bitcoin terms of a job (every calculator key is in the slots).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BtcJob {
    /// O's x-only key (hex) in the terms.
    pub outsourcer_key: String,
    /// T's x-only key (hex).
    pub arbiter_key: String,
    /// P_M, x-only hex.
    pub collusion_key: String,
    /// d, sat.
    pub fee_sat: u64,
    /// g, sat.
    pub deposit_sat: u64,
    /// The paper's variant: g in Pay_i (no Dep_i).
    #[serde(default)]
    pub trap_deposit: bool,
    /// Fee rate, sat/vB.
    pub fee_rate: u64,
    /// The funding transaction.
    pub funding: Option<StoredFundingTx>,
    /// Pay -> Pay': pk_{r_k} (33-byte hex, index order) and P_R (x-only
    /// hex), stored before the first Charge'_i is signed.
    #[serde(default)]
    pub conversion: Option<StoredResultKeys>,
}

/// The result keys of a job's conversion (PROTOCOL.md §4 step 5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredResultKeys {
    /// pk_{r_k}, 33-byte compressed, hex, in index order.
    pub keys: Vec<String>,
    /// P_R = sum of pk_{r_k}, x-only hex: the collusion key of Pay'_i.
    pub aggregate: String,
}

/// One slot's conversion Pay_i -> Pay'_i.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredConversion {
    /// The conversion, consensus bytes (empty witness), hex.
    pub tx_hex: String,
    /// Its txid: Pay'_i is its output 0.
    pub txid: String,
    /// Pay'_i's value, sat.
    pub value_sat: u64,
    /// O's presigned Charge'_i on Pay'_i (and Dep_i), stored before it is
    /// handed to C_i.
    pub charge: StoredCharge,
    /// The finished conversion (both signatures), hex, stored before
    /// broadcast.
    pub signed_hex: Option<String>,
    /// Why the slot stays on Pay_i (C_i refused, or no time was left).
    pub refused: Option<String>,
}

/// A calculator's deposit coins and scripts (its OfferResponse).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredFunding {
    /// (txid, vout, value sat, script hex).
    pub inputs: Vec<(String, u32, u64, String)>,
    /// Change script, hex.
    pub change_hex: String,
    /// Charge_i payout script, hex.
    pub payout_hex: String,
}

/// O's presigned Charge_i.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredCharge {
    /// Consensus bytes (empty witness), hex.
    pub tx_hex: String,
    /// O's signature, hex.
    pub sig_hex: String,
    /// Its txid (witness-independent): how O sees C_i paid.
    pub txid: String,
    /// What it pays C_i, sat.
    pub value_sat: u64,
}

/// Redeem_i, finished by O after T signed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredRedeem {
    /// Finalized Redeem_i, hex, stored before broadcast.
    pub tx_hex: String,
    /// Its txid.
    pub txid: String,
    /// What it pays O, sat.
    pub value_sat: u64,
    /// The CPFP child paying for it if it was refused for its fee.
    #[serde(default)]
    pub bump: Option<Box<bapay_daemon::btc::bump::StoredBump>>,
}

/// The Bitcoin part of a slot.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BtcSlot {
    /// C_i's deposit coins and scripts.
    pub funding: Option<StoredFunding>,
    /// O's presigned Charge_i.
    pub charge: Option<StoredCharge>,
    /// C_i's signed funding PSBT, hex.
    pub signed_psbt_hex: Option<String>,
    /// Redeem_i once T signed it.
    pub redeem: Option<StoredRedeem>,
    /// Pay_i -> Pay'_i, once proposed.
    #[serde(default)]
    pub conversion: Option<StoredConversion>,
    /// The trap sweep that took this slot's escrow, once seen.
    #[serde(default)]
    pub sweep: Option<StoredSweep>,
    /// PAID through Charge'_i (the conversion was mined), not Charge_i.
    #[serde(default)]
    pub paid_through_conversion: bool,
}

/// A trap sweep seen on chain (PROTOCOL.md §5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredSweep {
    /// The sweeping transaction.
    pub txid: String,
    /// The calculator whose trap leaf signed it (None: not one of ours).
    pub by: Option<u32>,
    /// The trap: "P_M" (messages) or "P_R" (results).
    pub key: String,
    /// What this slot lost to it, sat.
    pub value_sat: u64,
}

/// O's funding transaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredFundingTx {
    /// The unsigned PSBT, hex.
    pub psbt_hex: String,
    /// O's coins in it ("txid:vout"), reserved while the job funds.
    pub o_inputs: Vec<String>,
    /// What O's coins bring, sat.
    pub o_input_sat: u64,
    /// O's change, sat.
    pub o_change_sat: u64,
    /// Its fee, sat (paid by O).
    pub fee_sat: u64,
    /// Txid.
    pub txid: String,
    /// "O signs" was recorded: from here CancelJob is refused.
    pub o_signing: bool,
    /// The fully signed transaction, hex, stored before broadcast.
    pub signed_hex: Option<String>,
    /// Why the signed funding can never be mined (an input spent
    /// elsewhere), and O's void of its own coins, hex, stored before
    /// broadcast (`bapay_core::escrow::build_void`).
    #[serde(default)]
    pub void: Option<StoredVoid>,
    /// The CPFP child (on O's change) paying for it if it was refused for
    /// its fee.
    #[serde(default)]
    pub bump: Option<Box<bapay_daemon::btc::bump::StoredBump>>,
}

/// O's void of its funding coins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredVoid {
    /// What killed the funding.
    pub reason: String,
    /// The signed void, hex (empty: none of O's coins was left to void).
    pub tx_hex: String,
    /// Its txid.
    pub txid: String,
}

fn hex_key(what: &str, h: &str) -> Result<XOnlyPublicKey> {
    XOnlyPublicKey::from_slice(&unhex(what, h)?).map_err(|e| ServiceError::internal(what, e))
}

impl BtcJob {
    /// d + g: what one calculator's escrow holds in all (checked at
    /// SubmitJob).
    pub fn slot_sat(&self) -> u64 {
        self.fee_sat.saturating_add(self.deposit_sat)
    }

    /// The fee rate.
    pub fn rate(&self) -> Result<bitcoin::FeeRate> {
        bitcoin::FeeRate::from_sat_per_vb(self.fee_rate)
            .ok_or_else(|| ServiceError::internal("fee rate", "overflow"))
    }
}

impl JobRecord {
    /// The escrow terms of a Bitcoin job (every calculator key known).
    pub fn escrow_params(&self) -> Result<EscrowParams> {
        let b = self.btc()?;
        let calculators = self
            .slots
            .iter()
            .map(|s| s.calculator_key())
            .collect::<Result<Vec<_>>>()?;
        let timeout = u32::try_from(self.payout).map_err(|e| ServiceError::internal("t", e))?;
        EscrowParams::new(EscrowTerms {
            outsourcer: hex_key("outsourcer key", &b.outsourcer_key)?,
            arbiter: hex_key("arbiter key", &b.arbiter_key)?,
            calculators,
            collusion_key: hex_key("collusion key", &b.collusion_key)?,
            fee: Amount::from_sat(b.fee_sat),
            deposit: Amount::from_sat(b.deposit_sat),
            timeout,
            threshold: self.threshold_trap(&self.message_keys)?,
            trap_deposit: b.trap_deposit,
        })
        .map_err(|e| ServiceError::internal("escrow terms", e))
    }

    /// The threshold trap of an l-of-n job over `keys` (compressed hex:
    /// the message keys, or the result keys of Pay'), `None` for others.
    pub fn threshold_trap(&self, keys: &[String]) -> Result<Option<ThresholdTrap>> {
        let Some(l) = self.task.threshold() else {
            return Ok(None);
        };
        let message_keys = keys
            .iter()
            .map(|k| {
                bitcoin::secp256k1::PublicKey::from_slice(&unhex("threshold key", k)?)
                    .map(|p| p.x_only_public_key().0)
                    .map_err(|e| ServiceError::internal("threshold key", e))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(ThresholdTrap {
            l: l as usize,
            message_keys,
        }))
    }

    /// Slot `i`'s escrow on chain (Pay_i and Dep_i) once the funding txid
    /// is known.
    pub fn slot_escrow(&self, i: u32) -> Result<SlotEscrow> {
        let txid = self
            .btc()?
            .funding
            .as_ref()
            .map(|f| f.txid.clone())
            .ok_or_else(|| ServiceError::internal("funding", "no funding transaction yet"))?
            .parse()
            .map_err(|e| ServiceError::internal("funding txid", e))?;
        slot_escrow(&self.escrow_params()?, txid, i as usize)
            .map_err(|e| ServiceError::internal("slot escrow", e))
    }
}
