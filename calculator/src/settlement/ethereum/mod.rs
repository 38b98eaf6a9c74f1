//! The calculator's Ethereum settlement (PROTOCOL.md §5): [`offer`] (the
//! FairPay job checked by rebuilding it), StartWork after `state(id)` =
//! opened, [`commit`] (the bonded `commit`, stored before sent),
//! [`payout`] (the driver: payout at t, LOST / TRAPPED, withdrawal at the
//! commit deadline), [`respond`] (the answer to O's on-chain challenge).
//!
//! The calculator's Ethereum identity is `key.eth_address()` of the same
//! secp256k1 key as its Bitcoin x-only key; its commitments are BIP-340
//! over the digest with chain byte Ethereum, which T binds to `job.worker`
//! (`bapay_fairpay::key_is_worker`).

pub mod commit;
pub mod offer;
pub mod payout;
pub mod respond;

use std::sync::Arc;

use alloy::primitives::{Address, B256};
use bapay_core::commitment::{Chain as CommitChain, SignedCommitment};
use bapay_core::merkle::MerkleTree;
use bapay_core::task::SubResult;
use bapay_daemon::{codec, ServiceError};
use bapay_proto::calculator::v1 as pb;
use bapay_proto::common::v1 as common;

use super::{CommonOffer, Decision, Settlement};
use crate::record::{State, SubSettlement, SubTaskRecord};
use crate::service::Calculator;
use crate::Result;

/// The Ethereum settlement.
#[derive(Debug, Clone, Copy)]
pub struct Ethereum;

#[tonic::async_trait]
impl Settlement for Ethereum {
    fn commit_chain(&self) -> CommitChain {
        CommitChain::Ethereum
    }

    fn serves(&self, c: &Calculator) -> bool {
        c.eth_deployment().is_some()
    }

    fn parse_offer(
        &self,
        _c: &Calculator,
        req: &pb::OfferRequest,
        o: &CommonOffer,
    ) -> Result<SubSettlement> {
        offer::parse(req, o)
    }

    fn names_outsourcer(&self, part: &SubSettlement, key: &::bitcoin::XOnlyPublicKey) -> bool {
        match part {
            SubSettlement::Ethereum(e) => bapay_fairpay::key_is_worker(key, e.job.outsourcer),
            SubSettlement::Bitcoin(_) => false,
        }
    }

    async fn decide(
        &self,
        c: &Calculator,
        req: &pb::OfferRequest,
        o: &CommonOffer,
        _part: &mut SubSettlement,
    ) -> Result<Decision> {
        offer::decide(c, req, o).await
    }

    fn accepted(&self, _c: &Calculator, _rec: &SubTaskRecord) -> pb::OfferResponse {
        pb::OfferResponse {
            accepted: true,
            ..Default::default()
        }
    }

    /// `open_tx_hash` must be 32 bytes (the hash itself is informational:
    /// the calculator reads the contract, not the transaction); FairPay
    /// `state(contract_job_id)` must be 1 (opened) and `trappedTo(group)`
    /// zero, else FAILED_PRECONDITION.
    async fn check_start(
        &self,
        c: &Calculator,
        rec: &SubTaskRecord,
        req: &pb::StartWorkRequest,
    ) -> Result<()> {
        codec::bytes32("open_tx_hash", &req.open_tx_hash)?;
        let (contract, eth) = c.ethereum()?;
        let e = rec.eth()?;
        let state = eth.state(contract, e.contract_job_id).await?;
        if state != B256::with_last_byte(1) {
            return Err(ServiceError::precondition(format!(
                "FairPay state({}) is {state}, not opened",
                e.contract_job_id
            )));
        }
        if eth.trapped_to(contract, e.job.group).await? != Address::ZERO {
            return Err(ServiceError::precondition("the job's group is trapped"));
        }
        Ok(())
    }

    async fn escrow_final(&self, _c: &Calculator, rec: &SubTaskRecord) -> Result<bool> {
        // check_start read the opened job on chain just before.
        Ok(rec.work_requested || rec.state == State::Escrowed)
    }

    async fn deliver(
        &self,
        c: &Calculator,
        job: &str,
        result: &SubResult,
        tree: Arc<MerkleTree>,
        signed: SignedCommitment,
    ) -> Result<()> {
        commit::deliver(c, job, result, tree, signed).await
    }

    async fn tick(&self, c: &Arc<Calculator>, records: Vec<SubTaskRecord>) -> Result<()> {
        payout::tick(c, records).await
    }

    fn describe(&self, rec: &SubTaskRecord, status: &mut pb::GetStatusResponse) {
        status.chain = common::Chain::Ethereum as i32;
        if let Ok(e) = rec.eth() {
            status.contract_job_id = e.contract_job_id.to_vec();
            status.payout = Some(common::ChainTime {
                value: Some(common::chain_time::Value::UnixTime(e.job.payout_time)),
            });
        }
    }

    fn commit_tx_hash(&self, rec: &SubTaskRecord) -> Vec<u8> {
        rec.eth()
            .ok()
            .and_then(|e| e.commit_tx.as_ref())
            .map(|t| t.hash.to_vec())
            .unwrap_or_default()
    }
}
