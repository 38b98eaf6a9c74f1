//! O's Ethereum settlement (PROTOCOL.md §5): [`terms`] (SubmitJob's terms,
//! the offer, T's settlement of a dispute), [`open`] (`open(job)` per
//! slot, stored before sent; the on-chain root check), [`trustless`]
//! (`disputeSearch`: a wrong search leaf without T), [`challenge`] (the
//! on-chain challenge of a silent calculator, without T), [`settle`] (T's
//! `judge` followed; refunds, traps and payouts seen), [`view`] (wei
//! amounts, Unix times, each slot's FairPay job, O's gas).

pub mod answer;
pub mod challenge;
pub mod facts;
pub mod open;
pub mod settle;
pub mod terms;
pub mod trustless;
pub mod view;

use bapay_core::commitment::Chain as CommitChain;
use bapay_core::keys::PublishedKeys;
use bapay_core::task::MAX_CALCULATORS;
use bapay_proto::arbiter::v1 as arb;
use bapay_proto::calculator::v1 as calc;
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;

use super::{AtFault, Settlement, Terms};
use crate::record::{EthSlot, JobRecord, JobSettlement, Slot, SlotSettlement};
use crate::service::Outsourcer;
use crate::Result;

/// The Ethereum settlement.
#[derive(Debug, Clone, Copy)]
pub struct Ethereum;

#[tonic::async_trait]
impl Settlement for Ethereum {
    fn commit_chain(&self) -> CommitChain {
        CommitChain::Ethereum
    }

    fn chain(&self) -> common::Chain {
        common::Chain::Ethereum
    }

    fn max_calculators(&self) -> usize {
        MAX_CALCULATORS as usize
    }

    async fn terms(
        &self,
        o: &Outsourcer,
        req: &pb::SubmitJobRequest,
        timeouts: &pb::Timeouts,
        n: usize,
    ) -> Result<Terms> {
        terms::terms(o, req, timeouts, n).await
    }

    fn set_collusion(&self, part: &mut JobSettlement, keys: &PublishedKeys) {
        if let JobSettlement::Ethereum(e) = part {
            e.collusion_address = bapay_daemon::keys::eth_address(&keys.aggregate).to_string();
        }
    }

    fn new_slot(&self) -> SlotSettlement {
        SlotSettlement::Ethereum(EthSlot::default())
    }

    async fn now(&self, o: &Outsourcer) -> Result<u64> {
        let (eth, _) = o.eth()?;
        Ok(eth.chain_time().await?.1)
    }

    fn learn(
        &self,
        slot: &mut Slot,
        info: &calc::GetInfoResponse,
    ) -> std::result::Result<(), String> {
        if info.ethereum_address.len() != 20 {
            return Err(format!("calculator {} has no Ethereum address", slot.index));
        }
        let e = slot.eth_mut().map_err(|e| e.to_string())?;
        e.worker = alloy::primitives::Address::from_slice(&info.ethereum_address).to_string();
        Ok(())
    }

    fn offer_request(&self, rec: &JobRecord, i: u32) -> Result<calc::OfferRequest> {
        terms::offer_request(rec, i)
    }

    fn accepted(
        &self,
        _rec: &mut JobRecord,
        _i: u32,
        _resp: &calc::OfferResponse,
    ) -> std::result::Result<(), String> {
        Ok(())
    }

    fn money_locked(&self, rec: &JobRecord) -> bool {
        rec.slots
            .iter()
            .any(|s| s.eth().is_ok_and(|e| e.open_tx.is_some()))
    }

    async fn fund(&self, o: &Outsourcer, rec: &JobRecord, _tip: u64) -> Result<()> {
        open::fund(o, rec).await
    }

    fn start_work(&self, rec: &JobRecord, i: u32) -> calc::StartWorkRequest {
        let s = &rec.slots[i as usize];
        calc::StartWorkRequest {
            job_id: rec.id_bytes().map(|b| b.to_vec()).unwrap_or_default(),
            job_token: s.token(),
            funding_txid: String::new(),
            open_tx_hash: s
                .eth()
                .ok()
                .and_then(|e| e.open_tx.as_ref())
                .map(|t| t.hash.to_vec())
                .unwrap_or_default(),
        }
    }

    async fn check_committed(
        &self,
        o: &Outsourcer,
        rec: &JobRecord,
        i: u32,
        root: &[u8],
    ) -> Result<()> {
        open::check_committed(o, rec, i, root).await
    }

    fn fetched(&self, slot: &mut Slot, resp: &calc::FetchResultResponse) {
        if let Ok(e) = slot.eth_mut() {
            e.commit_tx = hex::encode(&resp.commit_tx_hash);
        }
    }

    fn verify_margin(&self, rec: &JobRecord) -> u64 {
        // FairPay takes a challenge only while now + 2 windows <= t; one
        // more window of slack for O's own polling.
        rec.eth()
            .map(|e| e.challenge_window_s)
            .unwrap_or(0)
            .saturating_mul(3)
            .saturating_add(2)
    }

    fn unresponsive_disputes(&self) -> bool {
        true
    }

    async fn challenge_on_chain(&self, o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<bool> {
        challenge::file(o, rec, s).await
    }

    async fn dispute_on_chain(&self, o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<bool> {
        trustless::dispute_search(o, rec, s).await
    }

    fn dispute_settlement(
        &self,
        _o: &Outsourcer,
        rec: &JobRecord,
        i: u32,
    ) -> Result<arb::dispute_request::Settlement> {
        terms::dispute_settlement(rec, i)
    }

    fn at_fault(
        &self,
        _o: &Outsourcer,
        _rec: &JobRecord,
        _i: u32,
        _d: &arb::Dispute,
    ) -> Result<AtFault> {
        Ok(AtFault {
            part: None,
            reason: "arbiter: calculator at fault; judge sent".into(),
            tx: String::new(),
        })
    }

    fn judged(&self, slot: &mut Slot, d: &arb::Dispute) {
        settle::judged(slot, d)
    }

    async fn follow_dispute(&self, o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
        match &s.dispute {
            Some(d) if challenge::is_challenge(d) => challenge::follow(o, rec, s).await,
            _ => settle::follow_dispute(o, rec, s).await,
        }
    }

    async fn settle(&self, o: &Outsourcer, rec: &JobRecord, tip: u64) -> Result<()> {
        settle::step(o, rec, tip).await
    }

    fn view(&self, rec: &JobRecord, job: &mut pb::Job) {
        view::patch(rec, job);
    }
}
