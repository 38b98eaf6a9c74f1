//! The calculator's Bitcoin settlement (PROTOCOL.md §4): [`offer`] (the
//! terms and the deposit coins), [`funding`] (SignFunding: Charge_i checked
//! and stored before the funding is signed), [`conversion`]
//! (SignConversion: Pay_i → Pay'_i), [`claim`] (the driver: escrow depth,
//! the claim at t, withdrawals).

pub mod bump;
pub mod claim;
pub mod conversion;
pub mod funding;
pub mod left;
pub mod offer;

use std::sync::Arc;

use bapay_core::commitment::{Chain as CommitChain, SignedCommitment};
use bapay_core::merkle::MerkleTree;
use bapay_core::task::SubResult;
use bapay_daemon::ServiceError;
use bapay_proto::calculator::v1 as pb;
use bapay_proto::common::v1 as common;

use super::{CommonOffer, Decision, Settlement};
use crate::record::{State, StoredCommitment, SubSettlement, SubTaskRecord};
use crate::service::Calculator;
use crate::Result;

/// The Bitcoin settlement.
#[derive(Debug, Clone, Copy)]
pub struct Bitcoin;

fn utxo(ch: &crate::record::StoredCharge) -> common::EscrowUtxo {
    common::EscrowUtxo {
        txid: ch.utxo_txid.clone(),
        vout: ch.utxo_vout,
        value_sat: ch.utxo_value_sat,
    }
}

#[tonic::async_trait]
impl Settlement for Bitcoin {
    fn commit_chain(&self) -> CommitChain {
        CommitChain::Bitcoin
    }

    fn serves(&self, _c: &Calculator) -> bool {
        true
    }

    fn parse_offer(
        &self,
        c: &Calculator,
        req: &pb::OfferRequest,
        o: &CommonOffer,
    ) -> Result<SubSettlement> {
        offer::parse(c, req, o)
    }

    fn names_outsourcer(&self, part: &SubSettlement, key: &::bitcoin::XOnlyPublicKey) -> bool {
        match part {
            SubSettlement::Bitcoin(b) => b.terms.outsourcer == *key,
            SubSettlement::Ethereum(_) => false,
        }
    }

    async fn decide(
        &self,
        c: &Calculator,
        req: &pb::OfferRequest,
        o: &CommonOffer,
        part: &mut SubSettlement,
    ) -> Result<Decision> {
        match part {
            SubSettlement::Bitcoin(b) => offer::decide(c, req, o, b).await,
            SubSettlement::Ethereum(_) => Err(ServiceError::internal("offer", "not Bitcoin")),
        }
    }

    fn accepted(&self, c: &Calculator, rec: &SubTaskRecord) -> pb::OfferResponse {
        match rec.btc() {
            Ok(b) => offer::accepted(c, b),
            Err(_) => pb::OfferResponse::default(),
        }
    }

    async fn check_start(
        &self,
        _c: &Calculator,
        rec: &SubTaskRecord,
        req: &pb::StartWorkRequest,
    ) -> Result<()> {
        if !matches!(rec.state, State::FundingSigned | State::Escrowed) {
            return Err(ServiceError::precondition(format!(
                "sub-task is {:?}; StartWork needs FUNDING_SIGNED",
                rec.state
            )));
        }
        if rec.btc()?.funding_txid.as_deref() != Some(req.funding_txid.as_str()) {
            return Err(ServiceError::invalid(
                "funding_txid",
                "not the funding transaction this calculator signed",
            ));
        }
        Ok(())
    }

    async fn escrow_final(&self, c: &Calculator, rec: &SubTaskRecord) -> Result<bool> {
        claim::escrow_at_depth(c, rec.btc()?).await
    }

    async fn deliver(
        &self,
        c: &Calculator,
        job: &str,
        result: &SubResult,
        tree: Arc<MerkleTree>,
        signed: SignedCommitment,
    ) -> Result<()> {
        let r = c
            .update(job, |r| {
                if r.state != State::Computing {
                    return Ok(false);
                }
                r.result_hex = Some(hex::encode(result.to_bytes()));
                r.commitment = Some(StoredCommitment {
                    commitment: signed.commitment,
                    signature_hex: hex::encode(signed.signature),
                });
                r.state = State::Committed;
                Ok(true)
            })
            .await?;
        if r.state == State::Committed {
            crate::work::cache_tree(c, job, tree);
            tracing::info!(job = %job, "result committed");
        }
        Ok(())
    }

    async fn tick(&self, c: &Arc<Calculator>, records: Vec<SubTaskRecord>) -> Result<()> {
        claim::tick(c, records).await
    }

    fn describe(&self, rec: &SubTaskRecord, status: &mut pb::GetStatusResponse) {
        status.chain = common::Chain::Bitcoin as i32;
        if let Ok(b) = rec.btc() {
            status.pay = b.charge.as_ref().map(utxo);
            status.pay_prime = b.charge_prime.as_ref().map(utxo);
            status.payout = Some(common::ChainTime {
                value: Some(common::chain_time::Value::Height(b.t())),
            });
        }
    }

    fn commit_tx_hash(&self, _rec: &SubTaskRecord) -> Vec<u8> {
        Vec::new()
    }
}
