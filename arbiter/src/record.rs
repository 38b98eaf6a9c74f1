//! What T stores per dispute: one [`DisputeRecord`], a versioned JSON
//! document in the daemon's [`bapay_daemon::Store`] under `dispute-<id>`.
//! The request (O's evidence, prost bytes) is stored in state CHECKING
//! before anything is decided; the verdict, and for AT_FAULT the rebuilt
//! Redeem_i and T's signature, are stored before they are returned.
//!
//! Ethereum (same record): `escrow_outpoint` holds the contract job id
//! (hex), `payout_unix` t, and the signed `judge(job)` transaction (raw
//! bytes, hash, nonce) is stored (JUDGE_SENT) before it is sent; its block
//! once mined (JUDGED). Not yet: AWAITING_CALCULATOR bookkeeping.

use bapay_daemon::{SignedTx, Store, StoreExt};
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::common::v1::chain_time::Value;
use bapay_proto::common::v1::Chain;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The dispute states T uses (mirror of part of `DisputeState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Stored, not decided yet (a crash here is resumed on the next filing).
    Checking,
    /// C_i at fault; Redeem_i and T's signature stored.
    AtFault,
    /// The evidence proves no fault.
    Rejected,
    /// Ethereum: at fault, `judge(job)` stored and sent, not yet mined.
    JudgeSent,
    /// Ethereum: `judge(job)` mined; reward + bond went to O.
    Judged,
    /// Ethereum: `judge(job)` reverted (t passed, settled, trapped).
    Expired,
}

impl State {
    /// The proto enum.
    pub fn to_proto(self) -> pb::DisputeState {
        match self {
            State::Checking => pb::DisputeState::Checking,
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

/// One dispute, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisputeRecord {
    /// Lowercase hex id: SHA256 of the encoded request (first 16 bytes).
    pub dispute_id: String,
    /// Job id, hex.
    pub job_id: String,
    /// `Chain` value.
    pub chain: i32,
    /// Accused calculator.
    pub calculator_index: u32,
    /// Escrow outpoint `txid:vout` (one signature per outpoint).
    pub escrow_outpoint: String,
    /// t of the terms (Bitcoin height).
    pub timeout_height: u32,
    /// The request as received (prost bytes, hex): stored before deciding.
    pub request_hex: String,
    /// Current state.
    pub state: State,
    /// AT_FAULT: the fault.
    pub fault: Option<StoredFault>,
    /// REJECTED: `RejectReason` value.
    pub reject_reason: i32,
    /// Details of the rejection.
    pub detail: String,
    /// Redeem_i as T rebuilt it (empty witness), hex: stored with the
    /// request (CHECKING), returned only for AT_FAULT.
    pub redeem_tx_hex: Option<String>,
    /// AT_FAULT: T's BIP-340 signature of input 0, hex.
    pub signature_hex: Option<String>,
    /// Ethereum: t, Unix seconds.
    #[serde(default)]
    pub payout_unix: u64,
    /// Ethereum: the signed `judge(job)`, stored before it is sent.
    #[serde(default)]
    pub judge_tx: Option<SignedTx>,
    /// Ethereum: the block `judge` was mined in.
    #[serde(default)]
    pub judge_block: u64,
    /// When stored, Unix ms.
    pub created_unix_ms: u64,
    /// Last change, Unix ms.
    pub updated_unix_ms: u64,
}

impl DisputeRecord {
    /// The proto form.
    pub fn to_proto(&self) -> pb::Dispute {
        let unhex = |s: &Option<String>| {
            s.as_deref()
                .and_then(|h| hex::decode(h).ok())
                .unwrap_or_default()
        };
        pb::Dispute {
            dispute_id: self.dispute_id.clone(),
            job_id: hex::decode(&self.job_id).unwrap_or_default(),
            chain: self.chain,
            calculator_index: self.calculator_index,
            state: self.state.to_proto() as i32,
            fault: self.fault.as_ref().map(|f| pb::Fault {
                kind: f.kind,
                leaf_index: f.leaf_index,
                detail: f.detail.clone(),
            }),
            reject_reason: self.reject_reason,
            detail: self.detail.clone(),
            // The stored rebuild is only T's answer once it is AT_FAULT.
            redeem_tx: match self.state {
                State::AtFault => unhex(&self.redeem_tx_hex),
                _ => Vec::new(),
            },
            arbiter_signature: unhex(&self.signature_hex),
            judge_tx_hash: self
                .judge_tx
                .as_ref()
                .map(|t| t.hash.to_vec())
                .unwrap_or_default(),
            judge_block: self.judge_block,
            judge_final: self.state == State::Judged,
            payout: Some(bapay_proto::common::v1::ChainTime {
                value: Some(if self.chain == Chain::Ethereum as i32 {
                    Value::UnixTime(self.payout_unix)
                } else {
                    Value::Height(self.timeout_height.into())
                }),
            }),
            created_unix_ms: self.created_unix_ms,
            updated_unix_ms: self.updated_unix_ms,
        }
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
