//! O's Bitcoin settlement (PROTOCOL.md §4): [`terms`] (SubmitJob's terms
//! and the offer), [`funding`] (the funding PSBT, Charge_i handed over
//! before anyone signs, O signs last), [`redeem`] (the dispute's escrow and
//! Redeem_i), [`convert`] (Pay_i -> Pay'_i once every result is in),
//! [`settle`] (Charge_i or Charge'_i seen at t, trap sweeps seen), [`view`]
//! (amounts, heights and the money report).

pub mod bump;
pub mod confirm;
pub mod convert;
pub mod funding;
pub mod redeem;
pub mod settle;
pub mod terms;
pub mod view;

use bapay_core::commitment::Chain as CommitChain;
use bapay_core::escrow::MAX_ESCROW_CALCULATORS;
use bapay_core::keys::PublishedKeys;
use bapay_proto::arbiter::v1 as arb;
use bapay_proto::calculator::v1 as calc;
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;

use super::{AtFault, Settlement, Terms};
use crate::record::{BtcSlot, JobRecord, JobSettlement, Slot, SlotSettlement, StoredFunding};
use crate::service::Outsourcer;
use crate::Result;

/// The Bitcoin settlement.
#[derive(Debug, Clone, Copy)]
pub struct Bitcoin;

#[tonic::async_trait]
impl Settlement for Bitcoin {
    fn commit_chain(&self) -> CommitChain {
        CommitChain::Bitcoin
    }

    fn chain(&self) -> common::Chain {
        common::Chain::Bitcoin
    }

    fn max_calculators(&self) -> usize {
        MAX_ESCROW_CALCULATORS
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
        if let JobSettlement::Bitcoin(b) = part {
            b.collusion_key = hex::encode(keys.aggregate_x_only().serialize());
        }
    }

    fn new_slot(&self) -> SlotSettlement {
        SlotSettlement::Bitcoin(BtcSlot::default())
    }

    async fn now(&self, o: &Outsourcer) -> Result<u64> {
        Ok(o.chain.tip_height().await?)
    }

    fn learn(
        &self,
        _slot: &mut Slot,
        _info: &calc::GetInfoResponse,
    ) -> std::result::Result<(), String> {
        Ok(())
    }

    fn offer_request(&self, rec: &JobRecord, i: u32) -> Result<calc::OfferRequest> {
        terms::offer_request(rec, i)
    }

    fn accepted(
        &self,
        rec: &mut JobRecord,
        i: u32,
        resp: &calc::OfferResponse,
    ) -> std::result::Result<(), String> {
        let Some(f) = &resp.funding else {
            return Err("accepted without funding coins".into());
        };
        let slot = rec.slots[i as usize].btc_mut().map_err(|e| e.to_string())?;
        slot.funding = Some(StoredFunding {
            inputs: f
                .inputs
                .iter()
                .map(|c| {
                    (
                        c.txid.clone(),
                        c.vout,
                        c.value_sat,
                        hex::encode(&c.script_pubkey),
                    )
                })
                .collect(),
            change_hex: hex::encode(&f.change_script),
            payout_hex: hex::encode(&f.payout_script),
        });
        Ok(())
    }

    fn money_locked(&self, rec: &JobRecord) -> bool {
        rec.btc()
            .ok()
            .and_then(|b| b.funding.as_ref())
            .is_some_and(|f| f.o_signing)
    }

    async fn fund(&self, o: &Outsourcer, rec: &JobRecord, tip: u64) -> Result<()> {
        funding::step(o, rec, tip).await
    }

    fn start_work(&self, rec: &JobRecord, i: u32) -> calc::StartWorkRequest {
        calc::StartWorkRequest {
            job_id: rec.id_bytes().map(|b| b.to_vec()).unwrap_or_default(),
            job_token: rec.slots[i as usize].token(),
            funding_txid: rec
                .btc()
                .ok()
                .and_then(|b| b.funding.as_ref())
                .map(|f| f.txid.clone())
                .unwrap_or_default(),
            open_tx_hash: Vec::new(),
        }
    }

    async fn check_committed(
        &self,
        _o: &Outsourcer,
        _rec: &JobRecord,
        _i: u32,
        _root: &[u8],
    ) -> Result<()> {
        Ok(())
    }

    fn fetched(&self, _slot: &mut Slot, _resp: &calc::FetchResultResponse) {}

    /// T refuses disputes from t - 2 (its `bitcoin_margin_blocks`); two
    /// more blocks for its response window and Redeem_i to confirm.
    fn verify_margin(&self, _rec: &JobRecord) -> u64 {
        4
    }

    fn unresponsive_disputes(&self) -> bool {
        true
    }

    fn threshold_jobs(&self) -> bool {
        true
    }

    async fn dispute_on_chain(&self, _o: &Outsourcer, _rec: &JobRecord, _s: &Slot) -> Result<bool> {
        Ok(false)
    }

    fn dispute_settlement(
        &self,
        o: &Outsourcer,
        rec: &JobRecord,
        i: u32,
    ) -> Result<arb::dispute_request::Settlement> {
        redeem::dispute_settlement(o, rec, i)
    }

    fn at_fault(
        &self,
        o: &Outsourcer,
        rec: &JobRecord,
        i: u32,
        d: &arb::Dispute,
    ) -> Result<AtFault> {
        redeem::at_fault(o, rec, i, d)
    }

    async fn follow_dispute(&self, o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
        redeem::follow(o, rec, s).await
    }

    async fn settle(&self, o: &Outsourcer, rec: &JobRecord, tip: u64) -> Result<()> {
        settle::step(o, rec, tip).await
    }

    fn view(&self, rec: &JobRecord, job: &mut pb::Job) {
        view::patch(rec, job);
    }
}
