//! The Ethereum parts of O's job: the FairPay terms every job of it shares
//! (per job), and each slot's FairPay transactions, stored signed (with
//! their nonce) before they are sent.

use alloy::primitives::Address;
use bapay_daemon::{ServiceError, SignedTx};
use bapay_fairpay::{job_for, AuditTerms, GroupTerms, SlotJob};
use serde::{Deserialize, Serialize};

use super::JobRecord;
use crate::Result;

/// Ethereum terms of a job (PROTOCOL.md §5). Addresses are 0x-hex,
/// amounts decimal wei.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EthJob {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// FairPay address.
    pub contract: String,
    /// O's address.
    pub outsourcer: String,
    /// T's address.
    pub arbiter: String,
    /// T's x-only key (hex): it identifies T; nothing is verified with it.
    pub arbiter_key: String,
    /// Address of the collusion key Σ sk_{m_k}.
    pub collusion_address: String,
    /// Reward d, wei.
    pub reward_wei: String,
    /// Bond g, wei.
    pub bond_wei: String,
    /// The audit (on-chain challenge) terms: seconds a calculator has to
    /// answer a challenge (positions per challenge: the job's m, at most
    /// FairPay's MAX_SAMPLES).
    #[serde(default)]
    pub challenge_window_s: u64,
    /// Challenge deposit, wei.
    #[serde(default)]
    pub challenge_deposit_wei: String,
}

/// O's Ethereum record of one slot.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EthSlot {
    /// C_i's address (job.worker), from GetInfo.
    pub worker: String,
    /// O's signed open(job), stored before it is sent.
    pub open_tx: Option<SignedTx>,
    /// Gas O paid for it, wei.
    pub open_gas_wei: String,
    /// C_i's commit transaction hash (FetchResult).
    pub commit_tx: String,
    /// O's signed refund(job), stored before it is sent.
    pub refund_tx: Option<SignedTx>,
    /// Gas O paid for the refund, wei.
    pub refund_gas_wei: String,
    /// O's signed disputeSearch(job, leaf, proof), stored before it is sent.
    pub dispute_tx: Option<SignedTx>,
    /// Gas O paid for it, wei.
    pub dispute_gas_wei: String,
    /// O's signed challenge(job, audit, c) with the deposit, stored before
    /// it is sent.
    #[serde(default)]
    pub challenge_tx: Option<SignedTx>,
    /// Gas O paid for it, wei.
    #[serde(default)]
    pub challenge_gas_wei: String,
    /// The block the challenge is in (T reads the answer's logs from it).
    #[serde(default)]
    pub challenge_block: u64,
    /// The challenge reverted (gas spent, no deposit moved).
    #[serde(default)]
    pub challenge_reverted: bool,
    /// The block of O's open (where the job's logs start).
    #[serde(default)]
    pub open_block: u64,
    /// The calculator's own transactions, read from the chain once the
    /// slot is settled (the money report's calculator gas and links).
    #[serde(default)]
    pub calc_txs: Vec<crate::settlement::ethereum::facts::CalcTx>,
    /// `calc_txs` has been read.
    #[serde(default)]
    pub calc_txs_read: bool,
    /// T's judge transaction (0x-hex) and its block, from GetDispute.
    #[serde(default)]
    pub judge_tx: String,
    /// Its block.
    #[serde(default)]
    pub judge_block: u64,
    /// O's signed claimUnanswered(job, audit), stored before it is sent.
    #[serde(default)]
    pub claim_tx: Option<SignedTx>,
    /// Gas O paid for it, wei.
    #[serde(default)]
    pub claim_gas_wei: String,
}

fn addr(what: &str, s: &str) -> Result<Address> {
    s.parse().map_err(|e| ServiceError::internal(what, e))
}

fn amount(what: &str, s: &str) -> Result<u128> {
    s.parse().map_err(|e| ServiceError::internal(what, e))
}

impl EthJob {
    /// The reward, wei.
    pub fn reward(&self) -> Result<u128> {
        amount("reward", &self.reward_wei)
    }

    /// The bond, wei.
    pub fn bond(&self) -> Result<u128> {
        amount("bond", &self.bond_wei)
    }

    /// The FairPay contract.
    pub fn contract(&self) -> Result<Address> {
        addr("contract", &self.contract)
    }

    /// The collusion address.
    pub fn collusion(&self) -> Result<Address> {
        addr("collusion", &self.collusion_address)
    }

    /// The audit terms every slot of a job with sample count `m` shares.
    pub fn audit(&self, m: u32) -> Result<AuditTerms> {
        Ok(AuditTerms {
            samples: m.clamp(1, bapay_fairpay::MAX_SAMPLES),
            window: self.challenge_window_s,
            deposit: if self.challenge_deposit_wei.is_empty() {
                0
            } else {
                amount("challenge deposit", &self.challenge_deposit_wei)?
            },
        })
    }
}

impl JobRecord {
    /// The workers in index order.
    pub fn workers(&self) -> Result<Vec<Address>> {
        self.slots
            .iter()
            .map(|s| addr("worker", &s.eth()?.worker))
            .collect()
    }

    /// What every FairPay job of this job shares.
    pub fn group_terms(&self) -> Result<GroupTerms> {
        let e = self.eth()?;
        Ok(GroupTerms {
            job_id: self.id_bytes()?,
            outsourcer: addr("outsourcer", &e.outsourcer)?,
            arbiter: addr("arbiter", &e.arbiter)?,
            commit_deadline: self.result_deadline,
            payout_time: self.payout,
            reward: e.reward()?,
            bond: e.bond()?,
            collusion: e.collusion()?,
            workers: self.workers()?,
            audit: e.audit(self.m)?,
        })
    }

    /// Slot `i`'s FairPay job (`bapay_fairpay::job_for`, the rule the
    /// calculator checks the offer with).
    pub fn slot_job(&self, i: usize) -> Result<SlotJob> {
        let sub = self
            .slots
            .get(i)
            .ok_or_else(|| ServiceError::internal("slot", format!("no slot {i}")))?
            .sub_task()?;
        job_for(&self.group_terms()?, i as u32, &sub)
            .map_err(|e| ServiceError::internal("FairPay job", e))
    }
}
