//! O's stored job: everything the driver needs to resume after a restart
//! (docs/daemons.md, "O persists before it acts"). One JSON document per
//! job in the store, written with optimistic versions; every state change
//! also appends a numbered `event` step to the job's journal (WatchJob
//! replays them). What depends on the chain is in [`JobSettlement`] (per
//! job) and [`SlotSettlement`] (per calculator slot).

pub mod bitcoin;
pub mod ethereum;
mod slot;

use bapay_core::task::{Output, Secret, TaskSpec};
use bapay_daemon::{ServiceError, Store, StoreExt};
use serde::{Deserialize, Serialize};

pub use self::bitcoin::{
    BtcJob, BtcSlot, StoredCharge, StoredConversion, StoredFunding, StoredFundingTx, StoredRedeem,
    StoredResultKeys, StoredSweep, StoredVoid,
};
pub use self::ethereum::{EthJob, EthSlot};
use crate::Result;

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

/// The dispute of one slot (T's id, or the on-chain dispute's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredDispute {
    /// T's id.
    pub id: String,
    /// Why O disputed.
    pub reason: String,
    /// An unresponsive dispute T rejected because C_i answered it: the
    /// slot's result and commitment are C_i's answer, verified by T's
    /// sample and by O's own check of the commitment, and count toward
    /// the output.
    #[serde(default)]
    pub answered: bool,
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
    /// s_i: 32 random bytes, hex, sent only to C_i (PROTOCOL.md §4 "salted
    /// keys"): without it nobody else can derive pk_{m_i} or pk_{r_i}.
    pub salt: String,
    /// c_i: 32 random bytes, hex, drawn and stored once C_i's commitment is
    /// in, before the sample is asked (docs/commitments.md "challenge").
    #[serde(default)]
    pub challenge: Option<String>,
    /// C_i's x-only key (hex), from GetInfo.
    pub key: Option<String>,
    /// Where the slot is.
    pub state: SlotState,
    /// Why.
    pub reason: String,
    /// r_i canonical bytes, hex.
    pub result_hex: Option<String>,
    /// C_i's signed commitment (proto bytes), hex.
    pub commitment_hex: Option<String>,
    /// The openings of the sample (proto `OpenLeavesResponse` bytes), hex.
    pub openings_hex: Option<String>,
    /// The dispute, if any.
    pub dispute: Option<StoredDispute>,
    /// Last change, Unix ms.
    pub updated_ms: u64,
    /// What depends on the chain.
    pub settlement: SlotSettlement,
    /// C_i's signed acceptance of O's signed offer (the evidence of an
    /// unresponsive dispute).
    #[serde(default)]
    pub acceptance: Option<Acceptance>,
}

/// The offer O signed and C_i's signature accepting it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// The OfferRequest as sent, with O's signature (proto bytes), hex.
    pub offer_hex: String,
    /// The endpoint C_i signed (where T reaches it).
    pub endpoint: String,
    /// C_i's BIP-340 signature (`bapay_core::auth::ACCEPT_TAG`), hex.
    pub signature_hex: String,
}

impl Acceptance {
    /// The offer and the signature as bytes, for T's evidence.
    pub fn bytes(&self) -> Result<(Vec<u8>, Vec<u8>)> {
        let unhex =
            |what: &str, h: &str| hex::decode(h).map_err(|e| ServiceError::internal(what, e));
        Ok((
            unhex("stored offer", &self.offer_hex)?,
            unhex("stored acceptance", &self.signature_hex)?,
        ))
    }
}

/// The chain part of a slot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "chain", rename_all = "snake_case")]
pub enum SlotSettlement {
    /// Pay_i: C_i's coins, Charge_i, Redeem_i.
    Bitcoin(BtcSlot),
    /// The FairPay job: O's open / refund / disputeSearch, C_i's commit.
    Ethereum(EthSlot),
}

/// The chain part of a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "chain", rename_all = "snake_case")]
pub enum JobSettlement {
    /// PROTOCOL.md §4: Taproot escrows.
    Bitcoin(BtcJob),
    /// PROTOCOL.md §5: FairPay.
    Ethereum(EthJob),
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
    /// t in chain time: a height (Bitcoin) or Unix seconds (Ethereum).
    pub payout: u64,
    /// The result deadline in chain time (Ethereum: the commit deadline).
    pub result_deadline: u64,
    /// p.
    pub p: f64,
    /// q.
    pub q: f64,
    /// m.
    pub m: u32,
    /// Wall-clock end of the offer phase, Unix ms.
    pub offer_deadline_ms: u64,
    /// T's URL.
    pub arbiter_url: String,
    /// The slots.
    pub slots: Vec<Slot>,
    /// The combined output.
    pub output: Option<Output>,
    /// Number of events appended.
    pub events: u64,
    /// Chain time last seen.
    pub tip: u64,
    /// Created, Unix ms.
    pub created_ms: u64,
    /// Last change, Unix ms.
    pub updated_ms: u64,
    /// What depends on the chain.
    pub settlement: JobSettlement,
    /// Pool endpoints not drawn yet, in pool order: a pool job replaces a
    /// declined calculator with the first of them (`driver::replace`).
    /// Empty for an explicit calculator list.
    #[serde(default)]
    pub spares: Vec<String>,
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

/// Decodes a stored hex field.
pub fn unhex(what: &str, s: &str) -> Result<Vec<u8>> {
    hex::decode(s).map_err(|e| ServiceError::internal(what, e))
}

pub(super) fn decode_stored<M: prost::Message + Default>(
    what: &str,
    hex: Option<&str>,
) -> Result<M> {
    let b = unhex(what, hex.unwrap_or(""))?;
    M::decode(b.as_slice()).map_err(|e| ServiceError::internal(&format!("stored {what}"), e))
}

impl JobRecord {
    /// The job id bytes.
    pub fn id_bytes(&self) -> Result<[u8; 32]> {
        unhex("job_id", &self.job_id)?
            .try_into()
            .map_err(|_| ServiceError::internal("stored job_id", "not 32 bytes"))
    }

    /// R.
    pub fn job_random(&self) -> Result<Vec<u8>> {
        unhex("R", &self.job_random)
    }

    /// pk_{m_k}, 33-byte compressed each.
    pub fn message_key_bytes(&self) -> Vec<Vec<u8>> {
        self.message_keys
            .iter()
            .filter_map(|k| hex::decode(k).ok())
            .collect()
    }

    /// The Bitcoin part (INTERNAL on an Ethereum job: a wrong dispatch).
    pub fn btc(&self) -> Result<&BtcJob> {
        match &self.settlement {
            JobSettlement::Bitcoin(b) => Ok(b),
            JobSettlement::Ethereum(_) => Err(ServiceError::internal("job", "not a Bitcoin job")),
        }
    }

    /// The Bitcoin part, mutable.
    pub fn btc_mut(&mut self) -> Result<&mut BtcJob> {
        match &mut self.settlement {
            JobSettlement::Bitcoin(b) => Ok(b),
            JobSettlement::Ethereum(_) => Err(ServiceError::internal("job", "not a Bitcoin job")),
        }
    }

    /// The Ethereum part.
    pub fn eth(&self) -> Result<&EthJob> {
        match &self.settlement {
            JobSettlement::Ethereum(e) => Ok(e),
            JobSettlement::Bitcoin(_) => Err(ServiceError::internal("job", "not an Ethereum job")),
        }
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
            .map_err(|e| ServiceError::internal("stored event", e))?;
        if e.seq > after {
            out.push(e);
        }
    }
    Ok(out)
}
