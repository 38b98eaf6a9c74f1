//! O's stored job: everything the driver needs to resume after a restart
//! (docs/daemons.md, "O persists before it acts"). One JSON document per job
//! in the store, written with optimistic versions; every state change also
//! appends a numbered `event` step to the job's journal (WatchJob replays
//! them).

use bapay_core::task::{Output, Secret, TaskSpec};
use bapay_daemon::{Store, StoreExt};
use serde::{Deserialize, Serialize};

use crate::error::{OutsourcerError, Result};

/// `bapay.outsourcer.v1.JobState`, same values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    Created = 1,
    Offering = 2,
    Funding = 3,
    Computing = 4,
    Verifying = 5,
    Disputing = 6,
    AwaitingPayout = 7,
    Completed = 8,
    Cancelled = 9,
    Failed = 10,
}

impl JobState {
    /// No further change.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Cancelled | JobState::Failed
        )
    }
}

/// `bapay.outsourcer.v1.SlotState`, same values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SlotState {
    Pending = 1,
    Offered = 2,
    Accepted = 3,
    Declined = 4,
    ChargePresigned = 5,
    FundingSigned = 6,
    Escrowed = 7,
    Working = 8,
    Committed = 9,
    Converted = 10,
    Verified = 11,
    Faulty = 12,
    Disputed = 13,
    Redeemed = 14,
    DisputeRejected = 15,
    Paid = 16,
    Refunded = 17,
    Trapped = 18,
}

impl SlotState {
    /// The slot's money is settled.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SlotState::Declined
                | SlotState::Redeemed
                | SlotState::Paid
                | SlotState::Refunded
                | SlotState::Trapped
        )
    }
}

/// The settlement chain of a job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainKind {
    /// PROTOCOL.md §4.
    #[default]
    Bitcoin,
    /// PROTOCOL.md §5 (FairPay).
    Ethereum,
}

/// Ethereum terms of a job (PROTOCOL.md §5): what every FairPay job of it
/// shares. Addresses are 0x-hex, amounts decimal wei.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EthInfo {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// FairPay address.
    pub contract: String,
    /// O's address.
    pub outsourcer: String,
    /// T's address.
    pub arbiter: String,
    /// Address of the collusion key Σ sk_{m_k}.
    pub collusion_address: String,
    /// FairPay commitDeadline, Unix seconds.
    pub commit_deadline: u64,
    /// FairPay payoutTime t, Unix seconds.
    pub payout_time: u64,
    /// Reward d, wei.
    pub reward_wei: String,
    /// Bond g, wei.
    pub bond_wei: String,
}

/// O's Ethereum record of one slot.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EthSlot {
    /// C_i's address (job.worker), from GetInfo.
    pub worker: String,
    /// O's signed open(job), stored before it is sent.
    pub open_tx: Option<bapay_daemon::eth::SignedTx>,
    /// Gas O paid for it, wei.
    pub open_gas_wei: String,
    /// C_i's commit transaction hash (FetchResult).
    pub commit_tx: String,
    /// O's signed refund(job), stored before it is sent.
    pub refund_tx: Option<bapay_daemon::eth::SignedTx>,
    /// Gas O paid for the refund, wei.
    pub refund_gas_wei: String,
    /// O's signed disputeSearch(job, leaf, proof), stored before it is sent.
    #[serde(default)]
    pub dispute_tx: Option<bapay_daemon::eth::SignedTx>,
    /// Gas O paid for it, wei.
    #[serde(default)]
    pub dispute_gas_wei: String,
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

/// The dispute of one slot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredDispute {
    /// T's id.
    pub id: String,
    /// Why O disputed.
    pub reason: String,
    /// Finalized Redeem_i (hex) once T signed, stored before broadcast.
    pub redeem_hex: Option<String>,
    /// Its txid.
    pub redeem_txid: Option<String>,
    /// What it pays O, sat.
    pub redeem_value_sat: u64,
}

/// One calculator slot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    /// 0-based index.
    pub index: u32,
    /// CalculatorService URL.
    pub endpoint: String,
    /// Token of this slot's calls, hex.
    pub job_token: String,
    /// m_i canonical bytes, hex.
    pub sub_task_hex: String,
    /// C_i's x-only key (hex), from GetInfo.
    pub key: Option<String>,
    /// Where the slot is.
    pub state: SlotState,
    /// Why.
    pub reason: String,
    /// C_i's deposit coins and scripts.
    pub funding: Option<StoredFunding>,
    /// O's presigned Charge_i.
    pub charge: Option<StoredCharge>,
    /// C_i's signed funding PSBT, hex.
    pub signed_psbt_hex: Option<String>,
    /// r_i canonical bytes, hex.
    pub result_hex: Option<String>,
    /// C_i's signed commitment (proto bytes), hex.
    pub commitment_hex: Option<String>,
    /// The openings of the sample (proto `OpenLeavesResponse` bytes), hex.
    pub openings_hex: Option<String>,
    /// The dispute, if any.
    pub dispute: Option<StoredDispute>,
    /// Ethereum jobs: the slot's FairPay state.
    #[serde(default)]
    pub eth: Option<EthSlot>,
    /// Last change, Unix ms.
    pub updated_ms: u64,
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
}

/// The whole job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Protocol job id, hex (also the store key).
    pub job_id: String,
    /// Idempotency key.
    pub request_id: String,
    /// SHA-256 of the request's protobuf bytes, hex.
    pub request_digest: String,
    /// Settlement chain.
    #[serde(default)]
    pub chain: ChainKind,
    /// Ethereum jobs: the FairPay terms.
    #[serde(default)]
    pub eth: Option<EthInfo>,
    /// Where the job is.
    pub state: JobState,
    /// Why.
    pub state_reason: String,
    /// The task.
    pub task: TaskSpec,
    /// O's kind secret.
    pub secret: Secret,
    /// R, hex.
    pub job_random: String,
    /// pk_{m_k}, compressed hex.
    pub message_keys: Vec<String>,
    /// P_M, x-only hex.
    pub collusion_key: String,
    /// d, sat.
    pub fee_sat: u64,
    /// g, sat.
    pub deposit_sat: u64,
    /// t, height.
    pub payout_height: u64,
    /// Result deadline, height.
    pub result_deadline_height: u64,
    /// p.
    pub p: f64,
    /// q.
    pub q: f64,
    /// m.
    pub m: u32,
    /// Fee rate, sat/vB.
    pub fee_rate: u64,
    /// Wall-clock end of the offer phase, Unix ms.
    pub offer_deadline_ms: u64,
    /// O's x-only key (hex) in the terms.
    pub outsourcer_key: String,
    /// T's URL.
    pub arbiter_url: String,
    /// T's key.
    pub arbiter_key: String,
    /// The slots.
    pub slots: Vec<Slot>,
    /// The funding transaction.
    pub funding: Option<StoredFundingTx>,
    /// The combined output.
    pub output: Option<Output>,
    /// Number of events appended.
    pub events: u64,
    /// Tip last seen.
    pub tip: u64,
    /// Created, Unix ms.
    pub created_ms: u64,
    /// Last change, Unix ms.
    pub updated_ms: u64,
}

/// A stored event (payload of an `event` journal step).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// 1, 2, 3, ... per job.
    pub seq: u64,
    /// Unix ms.
    pub at_ms: u64,
    /// Job state after it.
    pub state: JobState,
    /// The slot, if about one.
    pub slot: Option<u32>,
    /// Its state after it.
    pub slot_state: Option<SlotState>,
    /// What happened.
    pub description: String,
    /// Txid involved.
    pub tx: String,
}

/// Journal kind of events.
pub const EVENT: &str = "event";

impl JobRecord {
    /// Decodes a stored hex field.
    pub fn unhex(what: &str, s: &str) -> Result<Vec<u8>> {
        hex::decode(s).map_err(|e| OutsourcerError::internal(what, e))
    }

    /// The commitment chain byte of this job.
    pub fn commit_chain(&self) -> bapay_core::commitment::Chain {
        match self.chain {
            ChainKind::Bitcoin => bapay_core::commitment::Chain::Bitcoin,
            ChainKind::Ethereum => bapay_core::commitment::Chain::Ethereum,
        }
    }

    /// The job id bytes.
    pub fn id_bytes(&self) -> Result<[u8; 32]> {
        Self::unhex("job_id", &self.job_id)?
            .try_into()
            .map_err(|_| OutsourcerError::Internal("stored job_id is not 32 bytes".into()))
    }
}

impl Slot {
    /// m_i as stored.
    pub fn sub_task(&self) -> Result<bapay_core::task::SubTask> {
        bapay_core::task::SubTask::from_bytes(&JobRecord::unhex("sub task", &self.sub_task_hex)?)
            .map_err(|e| OutsourcerError::internal("stored sub-task", e))
    }

    /// r_i as stored (INTERNAL if none yet).
    pub fn result(&self) -> Result<bapay_core::task::SubResult> {
        bapay_core::task::SubResult::from_bytes(&self.result_bytes()?)
            .map_err(|e| OutsourcerError::internal("stored result", e))
    }

    /// r_i's canonical bytes as stored.
    pub fn result_bytes(&self) -> Result<Vec<u8>> {
        JobRecord::unhex("result", self.result_hex.as_deref().unwrap_or(""))
    }

    /// C_i's signed commitment as received.
    pub fn commitment(&self) -> Result<bapay_proto::common::v1::SignedCommitment> {
        use prost::Message;
        let b = JobRecord::unhex("commitment", self.commitment_hex.as_deref().unwrap_or(""))?;
        bapay_proto::common::v1::SignedCommitment::decode(b.as_slice())
            .map_err(|e| OutsourcerError::internal("stored commitment", e))
    }

    /// The openings of the sample as received.
    pub fn openings(&self) -> Result<bapay_proto::calculator::v1::OpenLeavesResponse> {
        use prost::Message;
        let b = JobRecord::unhex("openings", self.openings_hex.as_deref().unwrap_or(""))?;
        bapay_proto::calculator::v1::OpenLeavesResponse::decode(b.as_slice())
            .map_err(|e| OutsourcerError::internal("stored openings", e))
    }
}

/// Loads a job.
pub fn load(store: &dyn Store, id: &str) -> Result<Option<(JobRecord, u64)>> {
    Ok(store.get_job_as(id)?)
}

/// Saves a job over `version` (None: create).
pub fn save(store: &dyn Store, rec: &JobRecord, version: Option<u64>) -> Result<u64> {
    Ok(store.put_job_as(&rec.job_id, version, rec)?)
}

/// The job's events with seq > `after`.
pub fn events(store: &dyn Store, id: &str, after: u64) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    for s in store.steps(id)? {
        if s.kind != EVENT {
            continue;
        }
        let e: Event = serde_json::from_value(s.payload)
            .map_err(|e| OutsourcerError::internal("stored event", e))?;
        if e.seq > after {
            out.push(e);
        }
    }
    Ok(out)
}
