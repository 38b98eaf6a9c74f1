//! What the calculator stores per sub-task: one [`SubTaskRecord`] per job id
//! (a calculator holds one index of a job), a versioned JSON document in the
//! daemon's [`bapay_daemon::Store`]. Every field needed to keep or claim the
//! money (the offer, the checked Charge_i and O's signature, the funding
//! txid, r_i and the signed commitment, Charge'_i) is written here before the
//! signature or transaction that depends on it leaves the process.
//!
//! Implemented: the Bitcoin fields. Not yet: Ethereum fields, the transfer
//! report rows (`GetStatus.transfers` / `total`).

use bapay_core::commitment::Commitment;
use bapay_core::escrow::{EscrowParams, EscrowTerms};
use bapay_daemon::{Store, StoreExt};
use bapay_proto::calculator::v1::SubTaskState;
use serde::{Deserialize, Serialize};

use crate::chain::Coin;
use crate::error::{CalculatorError, Result};

/// The sub-task states (mirror of `bapay.calculator.v1.SubTaskState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Offer accepted, coins reserved.
    Accepted,
    /// Offer declined (kept so a repeated offer gets the same answer).
    Declined,
    /// Charge_i checked and stored.
    ChargeHeld,
    /// Own funding inputs signed.
    FundingSigned,
    /// Pay_i at depth.
    Escrowed,
    /// Computing r_i.
    Computing,
    /// r_i and the signed commitment stored.
    Committed,
    /// Charge'_i stored, conversion signed.
    Converted,
    /// Charge_i / Charge'_i broadcast.
    Claiming,
    /// Paid at depth.
    Paid,
    /// Escrow taken by O after a verdict.
    Lost,
    /// Swept through a trap.
    Trapped,
    /// Offer withdrawn.
    Withdrawn,
}

impl State {
    /// The proto enum.
    pub fn to_proto(self) -> SubTaskState {
        match self {
            State::Accepted => SubTaskState::Accepted,
            State::Declined => SubTaskState::Declined,
            State::ChargeHeld => SubTaskState::ChargeHeld,
            State::FundingSigned => SubTaskState::FundingSigned,
            State::Escrowed => SubTaskState::Escrowed,
            State::Computing => SubTaskState::Computing,
            State::Committed => SubTaskState::Committed,
            State::Converted => SubTaskState::Converted,
            State::Claiming => SubTaskState::Claiming,
            State::Paid => SubTaskState::Paid,
            State::Lost => SubTaskState::Lost,
            State::Trapped => SubTaskState::Trapped,
            State::Withdrawn => SubTaskState::Withdrawn,
        }
    }

    /// Terminal states (no more driver work).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            State::Declined | State::Paid | State::Lost | State::Trapped | State::Withdrawn
        )
    }

    /// States in which the reserved coins are still ours to reserve.
    pub fn reserves_coins(self) -> bool {
        matches!(
            self,
            State::Accepted | State::ChargeHeld | State::FundingSigned
        )
    }
}

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
}

/// The signed commitment as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCommitment {
    /// The statement.
    pub commitment: Commitment,
    /// BIP-340 signature, hex.
    pub signature_hex: String,
}

/// One sub-task, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubTaskRecord {
    /// Job id, hex.
    pub job_id: String,
    /// SHA256 of the encoded OfferRequest (idempotency), hex.
    pub offer_hash: String,
    /// job_token, hex.
    pub job_token: String,
    /// Own index.
    pub index: u32,
    /// m_i canonical bytes, hex.
    pub sub_task_hex: String,
    /// R, hex.
    pub job_random: String,
    /// Pay_k terms.
    pub terms: EscrowTerms,
    /// Fee rate of the offer, sat/vB.
    pub fee_rate_sat_per_vb: f64,
    /// Result deadline height.
    pub result_deadline_height: u64,
    /// Current state.
    pub state: State,
    /// Why (declines, withdrawals).
    pub state_reason: String,
    /// Decline reason (proto enum value) when declined.
    pub decline_reason: i32,
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
    /// StartWork received.
    pub work_requested: bool,
    /// r_i canonical bytes, hex.
    pub result_hex: Option<String>,
    /// Signed commitment.
    pub commitment: Option<StoredCommitment>,
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
    /// Last change, Unix ms.
    pub updated_unix_ms: u64,
}

impl SubTaskRecord {
    /// The validated terms.
    pub fn params(&self) -> Result<EscrowParams> {
        EscrowParams::new(self.terms.clone())
            .map_err(|e| CalculatorError::Internal(format!("stored terms: {e}")))
    }

    /// Decodes a stored hex field.
    pub fn unhex(what: &str, s: &str) -> Result<Vec<u8>> {
        hex::decode(s).map_err(|e| CalculatorError::Internal(format!("stored {what}: {e}")))
    }
}

/// Loads a record and its version.
pub fn load(store: &dyn Store, job_hex: &str) -> Result<Option<(SubTaskRecord, u64)>> {
    Ok(store.get_job_as(job_hex)?)
}

/// Writes `rec` over `version` (`None`: create). Returns the new version.
pub fn save(store: &dyn Store, rec: &SubTaskRecord, version: Option<u64>) -> Result<u64> {
    Ok(store.put_job_as(&rec.job_id, version, rec)?)
}
