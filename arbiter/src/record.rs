//! What T stores per dispute: one [`DisputeRecord`], a versioned JSON
//! document in the daemon's [`bapay_daemon::Store`] under `dispute-<id>`.
//! The request (O's evidence, prost bytes) is stored in state CHECKING
//! before anything is decided; the verdict and what carries it out are
//! stored before they leave the process: Bitcoin, the rebuilt Redeem_i and
//! T's signature (AT_FAULT); Ethereum, the signed `judge(job)` with its
//! nonce (JUDGE_SENT), then the block it was mined in (JUDGED).

use bapay_daemon::{SignedTx, Store, StoreExt};
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::common::v1::chain_time::Value;
use bapay_proto::common::v1::{Chain, ChainTime};
use serde::{Deserialize, Serialize};

use crate::Result;

/// The dispute states T uses (mirror of part of `DisputeState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Stored, not decided yet (a crash here is resumed on the next filing).
    Checking,
    /// Unresponsive evidence: T is asking C_i until the response window
    /// closes (the arbiter's driver; resumed after a restart).
    AwaitingCalculator,
    /// C_i at fault; Redeem_i and T's signature stored.
    AtFault,
    /// The evidence proves no fault.
    Rejected,
    /// Ethereum: at fault, `judge(job)` stored and sent, not yet mined.
    JudgeSent,
    /// Ethereum: `judge(job)` mined; reward + bond went to O.
    Judged,
    /// `judge(job)` reverted or would revert (t passed, settled, trapped).
    Expired,
}

impl State {
    /// The proto enum.
    pub fn to_proto(self) -> pb::DisputeState {
        match self {
            State::Checking => pb::DisputeState::Checking,
            State::AwaitingCalculator => pb::DisputeState::AwaitingCalculator,
            State::AtFault => pb::DisputeState::AtFault,
            State::Rejected => pb::DisputeState::Rejected,
            State::JudgeSent => pb::DisputeState::JudgeSent,
            State::Judged => pb::DisputeState::Judged,
            State::Expired => pb::DisputeState::Expired,
        }
    }
}

/// A proven fault as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFault {
    /// `Fault.Kind` value.
    pub kind: i32,
    /// Leaf index (leaf faults).
    pub leaf_index: u64,
    /// Core message.
    pub detail: String,
}

/// The Bitcoin escrow of a dispute and T's answer to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BitcoinRecord {
    /// Escrow outpoint `txid:vout` (one signature per outpoint).
    pub escrow_outpoint: String,
    /// t of the terms (height).
    pub timeout_height: u32,
    /// Redeem_i as T rebuilt it (empty witness), hex: stored with the
    /// request (CHECKING), returned only for AT_FAULT.
    pub redeem_tx_hex: String,
    /// AT_FAULT: T's BIP-340 signatures, one per input, hex.
    pub signatures_hex: Vec<String>,
}

/// The FairPay job of a dispute and T's `judge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EthereumRecord {
    /// keccak256(abi.encode(job)), hex (one `judge` per contract job id).
    pub contract_job_id: String,
    /// t, Unix seconds.
    pub payout_unix: u64,
    /// The signed `judge(job)`, stored before it is sent.
    pub judge_tx: Option<SignedTx>,
    /// The block `judge` was mined in.
    pub judge_block: u64,
}

/// The chain part of a dispute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "chain", rename_all = "snake_case")]
pub enum SettlementRecord {
    /// A Taproot escrow Pay_i.
    Bitcoin(BitcoinRecord),
    /// A FairPay job.
    Ethereum(EthereumRecord),
}

/// One dispute, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisputeRecord {
    /// Lowercase hex id: SHA256 of the encoded request (first 16 bytes).
    pub dispute_id: String,
    /// Job id, hex.
    pub job_id: String,
    /// Accused calculator.
    pub calculator_index: u32,
    /// The request as received (prost bytes, hex): stored before deciding.
    pub request_hex: String,
    /// Current state.
    pub state: State,
    /// AT_FAULT / JUDGE_SENT / JUDGED: the fault.
    pub fault: Option<StoredFault>,
    /// REJECTED: `RejectReason` value.
    pub reject_reason: i32,
    /// Details of the rejection or expiry.
    pub detail: String,
    /// The escrow and what T did about it.
    pub settlement: SettlementRecord,
    /// When stored, Unix ms.
    pub created_unix_ms: u64,
    /// Last change, Unix ms.
    pub updated_unix_ms: u64,
    /// Unresponsive disputes: the first signed commitment C_i gave T
    /// (proto bytes, hex), stored before T reveals its sample; a later
    /// answer under another commitment does not count (no grinding of the
    /// root against T's sample).
    #[serde(default)]
    pub pinned_commitment: Option<String>,
    /// Unresponsive disputes REJECTED with CALCULATOR_RESPONDED: r_i as
    /// C_i gave it to T (hex), handed to the filer with the pinned
    /// commitment ([`DisputeRecord::answer`]).
    #[serde(default)]
    pub answered_result: Option<String>,
}

impl DisputeRecord {
    /// The escrow this dispute is about: `txid:vout` or the contract job id.
    pub fn escrow(&self) -> &str {
        match &self.settlement {
            SettlementRecord::Bitcoin(b) => &b.escrow_outpoint,
            SettlementRecord::Ethereum(e) => &e.contract_job_id,
        }
    }

    /// Is this dispute about slot `index` of job `job_hex`?
    pub fn is_slot(&self, job_hex: &str, index: u32) -> bool {
        self.job_id == job_hex && self.calculator_index == index
    }

    /// What C_i answered T in an unresponsive dispute T rejected because
    /// C_i responded (for the filer only: `rpc::dispute`).
    pub fn answer(&self) -> Option<pb::UnresponsiveAnswer> {
        use prost::Message;
        let result = hex::decode(self.answered_result.as_ref()?).ok()?;
        let pc = hex::decode(self.pinned_commitment.as_ref()?).ok()?;
        let commitment = bapay_proto::common::v1::SignedCommitment::decode(pc.as_slice()).ok()?;
        Some(pb::UnresponsiveAnswer {
            commitment: Some(commitment),
            result,
        })
    }

    /// The proto form.
    pub fn to_proto(&self) -> pb::Dispute {
        let unhex = |s: Option<&str>| s.and_then(|h| hex::decode(h).ok()).unwrap_or_default();
        let mut d = pb::Dispute {
            dispute_id: self.dispute_id.clone(),
            job_id: hex::decode(&self.job_id).unwrap_or_default(),
            calculator_index: self.calculator_index,
            state: self.state.to_proto() as i32,
            fault: self.fault.as_ref().map(|f| pb::Fault {
                kind: f.kind,
                leaf_index: f.leaf_index,
                detail: f.detail.clone(),
            }),
            reject_reason: self.reject_reason,
            detail: self.detail.clone(),
            created_unix_ms: self.created_unix_ms,
            updated_unix_ms: self.updated_unix_ms,
            ..Default::default()
        };
        match &self.settlement {
            SettlementRecord::Bitcoin(b) => {
                d.chain = Chain::Bitcoin as i32;
                // The stored rebuild is only T's answer once it is AT_FAULT.
                if self.state == State::AtFault {
                    d.redeem_tx = unhex(Some(&b.redeem_tx_hex));
                    d.arbiter_signatures =
                        b.signatures_hex.iter().map(|h| unhex(Some(h))).collect();
                }
                d.payout = Some(ChainTime {
                    value: Some(Value::Height(b.timeout_height.into())),
                });
            }
            SettlementRecord::Ethereum(e) => {
                d.chain = Chain::Ethereum as i32;
                d.judge_tx_hash = e
                    .judge_tx
                    .as_ref()
                    .map(|t| t.hash.to_vec())
                    .unwrap_or_default();
                d.judge_block = e.judge_block;
                d.judge_final = self.state == State::Judged;
                d.payout = Some(ChainTime {
                    value: Some(Value::UnixTime(e.payout_unix)),
                });
            }
        }
        d
    }
}

/// Store key of a dispute id.
pub fn key(dispute_id: &str) -> String {
    format!("dispute-{dispute_id}")
}

/// Loads a record and its version.
pub fn load(store: &dyn Store, dispute_id: &str) -> Result<Option<(DisputeRecord, u64)>> {
    Ok(store.get_job_as(&key(dispute_id))?)
}

/// Writes `rec` over `version` (`None`: create). Returns the new version.
pub fn save(store: &dyn Store, rec: &DisputeRecord, version: Option<u64>) -> Result<u64> {
    Ok(store.put_job_as(&key(&rec.dispute_id), version, rec)?)
}

/// Every stored dispute.
pub fn all(store: &dyn Store) -> Result<Vec<(DisputeRecord, u64)>> {
    let mut out = Vec::new();
    for j in store.list_jobs()? {
        if let Some(id) = j.id.strip_prefix("dispute-") {
            if let Some(r) = load(store, id)? {
                out.push(r);
            }
        }
    }
    Ok(out)
}
