//! One settlement per chain behind [`Settlement`], chosen once per job
//! from its record ([`of`]) or from SubmitJob's chain ([`for_chain`]): the
//! driver's phases (`crate::driver`), SubmitJob and the view never branch
//! on the chain themselves.
//!
//! - [`bitcoin::Bitcoin`]: Taproot escrows Pay_i, the funding PSBT with
//!   Charge_i handed over before anyone signs, Redeem_i after T's verdict,
//!   Charge_i seen at t.
//! - [`ethereum::Ethereum`]: one FairPay job per calculator (`open` with
//!   the reward), the on-chain root check, the trustless `disputeSearch`,
//!   the on-chain challenge of a silent calculator, T's `judge`, `refund`
//!   of an uncommitted job, `payout` seen at t.

pub mod bitcoin;
pub mod ethereum;

use bapay_core::commitment::Chain as CommitChain;
use bapay_core::keys::PublishedKeys;
use bapay_proto::arbiter::v1 as arb;
use bapay_proto::calculator::v1 as calc;
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;

use crate::record::{JobRecord, JobSettlement, Slot, SlotSettlement};
use crate::service::Outsourcer;
use crate::Result;

/// A job's terms on its chain, resolved at SubmitJob.
#[derive(Debug, Clone)]
pub struct Terms {
    /// t in chain time (height / Unix seconds).
    pub payout: u64,
    /// The result deadline in chain time.
    pub deadline: u64,
    /// Chain time at submission.
    pub tip: u64,
    /// The chain part of the record (the collusion key is filled in once
    /// the message keys are known, [`Settlement::set_collusion`]).
    pub part: JobSettlement,
}

/// What O does with T's AT_FAULT / JUDGE_SENT answer.
#[derive(Debug, Clone)]
pub struct AtFault {
    /// The slot's new chain part (Bitcoin: with Redeem_i), if it changes.
    pub part: Option<SlotSettlement>,
    /// What happened.
    pub reason: String,
    /// The transaction involved.
    pub tx: String,
}

/// What one chain adds to a job.
#[tonic::async_trait]
pub trait Settlement: Send + Sync {
    /// The commitment chain byte.
    fn commit_chain(&self) -> CommitChain;
    /// The proto chain.
    fn chain(&self) -> common::Chain;
    /// Most calculators one job may have on this chain.
    fn max_calculators(&self) -> usize;

    /// SubmitJob: amounts, t and the result deadline against the chain's
    /// time, T's keys (INVALID_ARGUMENT naming the field; UNAVAILABLE if
    /// the chain or T is down).
    async fn terms(
        &self,
        o: &Outsourcer,
        req: &pb::SubmitJobRequest,
        timeouts: &pb::Timeouts,
        n: usize,
    ) -> Result<Terms>;
    /// Fills in the collusion key of the terms once the message keys are
    /// known.
    fn set_collusion(&self, part: &mut JobSettlement, keys: &PublishedKeys);
    /// The chain part of a new slot.
    fn new_slot(&self) -> SlotSettlement;

    /// The chain's time now: the tip height or the latest block's time.
    async fn now(&self, o: &Outsourcer) -> Result<u64>;

    /// Records what the chain needs from the calculator's GetInfo (a
    /// reason refuses the calculator).
    fn learn(
        &self,
        slot: &mut Slot,
        info: &calc::GetInfoResponse,
    ) -> std::result::Result<(), String>;
    /// The Offer of slot `i`.
    fn offer_request(&self, rec: &JobRecord, i: u32) -> Result<calc::OfferRequest>;
    /// Records an accepting answer (a reason declines the slot).
    fn accepted(
        &self,
        rec: &mut JobRecord,
        i: u32,
        resp: &calc::OfferResponse,
    ) -> std::result::Result<(), String>;
    /// Is money locked (CancelJob refused, the job can no longer FAIL)?
    fn money_locked(&self, rec: &JobRecord) -> bool;

    /// One pass of the FUNDING phase (every escrow final → COMPUTING).
    async fn fund(&self, o: &Outsourcer, rec: &JobRecord, tip: u64) -> Result<()>;

    /// The StartWork request of slot `i`.
    fn start_work(&self, rec: &JobRecord, i: u32) -> calc::StartWorkRequest;
    /// The chain's check of a signed result (Ethereum: FairPay holds the
    /// same root). UNAVAILABLE means "retry".
    async fn check_committed(
        &self,
        o: &Outsourcer,
        rec: &JobRecord,
        i: u32,
        root: &[u8],
    ) -> Result<()>;
    /// Stores the chain part of FetchResult's answer.
    fn fetched(&self, slot: &mut Slot, resp: &calc::FetchResultResponse);
    /// Chain time before t from which a slot whose sample is unopened is
    /// given up and disputed as silent (time left to dispute it: Ethereum,
    /// two challenge windows).
    fn verify_margin(&self, rec: &JobRecord) -> u64;

    /// Can a silent calculator (no result, or a sample never opened) be
    /// disputed on this chain? Bitcoin: T takes `Unresponsive` evidence
    /// and asks C_i itself. Ethereum: O's on-chain challenge.
    fn unresponsive_disputes(&self) -> bool {
        false
    }

    /// Takes silent slot `s` to the chain without T if the chain can
    /// (Ethereum: FairPay `challenge`); whether it did.
    async fn challenge_on_chain(
        &self,
        _o: &Outsourcer,
        _rec: &JobRecord,
        _s: &Slot,
    ) -> Result<bool> {
        Ok(false)
    }

    /// Can a job on this chain be l-of-n (a threshold trap leaf in its
    /// escrow, and silent calculators' slots settled without their
    /// results)? Bitcoin only.
    fn threshold_jobs(&self) -> bool {
        false
    }

    /// Disputes slot `s` on chain without T if the chain can (Ethereum: a
    /// wrong search leaf through `disputeSearch`); whether it did.
    async fn dispute_on_chain(&self, o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<bool>;
    /// The settlement part of a dispute of slot `i` for T.
    fn dispute_settlement(
        &self,
        o: &Outsourcer,
        rec: &JobRecord,
        i: u32,
    ) -> Result<arb::dispute_request::Settlement>;
    /// What T's at-fault answer leads to (Bitcoin: Redeem_i rebuilt,
    /// checked against T's bytes and completed with O's signature).
    fn at_fault(
        &self,
        o: &Outsourcer,
        rec: &JobRecord,
        i: u32,
        d: &arb::Dispute,
    ) -> Result<AtFault>;
    /// Records T's JUDGED answer in the slot's chain part (Ethereum: the
    /// `judge` transaction and its block, for the report).
    fn judged(&self, _slot: &mut Slot, _d: &arb::Dispute) {}
    /// A DISPUTED slot until it is REDEEMED or DISPUTE_REJECTED.
    async fn follow_dispute(&self, o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()>;

    /// One pass of AWAITING_PAYOUT (every slot settled → COMPLETED).
    async fn settle(&self, o: &Outsourcer, rec: &JobRecord, tip: u64) -> Result<()>;

    /// The chain parts of the API view: amounts, times, details, each
    /// slot's chain fields, the money report.
    fn view(&self, rec: &JobRecord, job: &mut pb::Job);
}

/// The settlement of a stored job.
pub fn of(rec: &JobRecord) -> &'static dyn Settlement {
    match rec.settlement {
        JobSettlement::Bitcoin(_) => &bitcoin::Bitcoin,
        JobSettlement::Ethereum(_) => &ethereum::Ethereum,
    }
}

/// The settlement of a SubmitJob chain (`None`: unknown or unspecified).
pub fn for_chain(chain: i32) -> Option<&'static dyn Settlement> {
    match common::Chain::try_from(chain) {
        Ok(common::Chain::Bitcoin) => Some(&bitcoin::Bitcoin),
        Ok(common::Chain::Ethereum) => Some(&ethereum::Ethereum),
        _ => None,
    }
}

/// The proto chain of a stored job.
pub fn chain_of(rec: &JobRecord) -> common::Chain {
    of(rec).chain()
}
