//! One settlement per chain, behind [`Settlement`], chosen once per
//! sub-task from its record ([`of`]) or from the offer's chain
//! ([`for_chain`]): the RPC handlers, the computation and the driver never
//! branch on the chain themselves.
//!
//! - [`bitcoin::Bitcoin`]: the Taproot escrow Pay_i; the offer reserves
//!   coins for g; SignFunding and SignConversion (Bitcoin-only RPCs) live in
//!   [`bitcoin::funding`] and [`bitcoin::conversion`]; the claim is the
//!   stored Charge_i / Charge'_i, broadcast from t on.
//! - [`ethereum::Ethereum`]: the FairPay job; the offer is checked by
//!   rebuilding the job (`bapay_fairpay::job_for`); delivering the result
//!   is the bonded `commit`; the claim is `payout` from t on.

pub mod bitcoin;
pub mod ethereum;

use std::sync::Arc;

use ::bitcoin::secp256k1::PublicKey;
use bapay_core::commitment::{Chain as CommitChain, SignedCommitment};
use bapay_core::merkle::MerkleTree;
use bapay_core::task::{SubResult, SubTask};
use bapay_proto::calculator::v1 as pb;
use bapay_proto::calculator::v1::DeclineReason;
use bapay_proto::common::v1::Chain;

use crate::record::{SubSettlement, SubTaskRecord};
use crate::service::Calculator;
use crate::Result;

/// The parts of an offer both chains check the same way.
#[derive(Debug, Clone)]
pub struct CommonOffer {
    /// O's 32-byte protocol job id.
    pub job_id: [u8; 32],
    /// n.
    pub n: u32,
    /// This calculator's index.
    pub index: u32,
    /// m_i, decoded.
    pub sub: SubTask,
    /// R.
    pub job_random: [u8; 32],
    /// s_i, this slot's secret salt.
    pub salt: [u8; 32],
    /// pk_{m_k}, in index order.
    pub keys: Vec<PublicKey>,
}

/// An offer's verdict: accepted, or declined with the reason.
pub type Decision = std::result::Result<(), (DeclineReason, String)>;

/// What one chain adds to a sub-task.
#[tonic::async_trait]
pub trait Settlement: Send + Sync {
    /// The commitment chain byte.
    fn commit_chain(&self) -> CommitChain;

    /// Whether this calculator serves the chain at all (an offer on a
    /// chain it does not serve is declined UNSUPPORTED, not stored).
    fn serves(&self, c: &Calculator) -> bool;

    /// Parses the chain terms of `req` (INVALID_ARGUMENT naming the
    /// field); returns the record's chain part.
    fn parse_offer(
        &self,
        c: &Calculator,
        req: &pb::OfferRequest,
        offer: &CommonOffer,
    ) -> Result<SubSettlement>;

    /// Is `key` the outsourcer the parsed terms `part` name (Bitcoin: the
    /// terms' outsourcer key; Ethereum: the key of `job.outsourcer`)? The
    /// offer must be signed by it.
    fn names_outsourcer(&self, part: &SubSettlement, key: &::bitcoin::XOnlyPublicKey) -> bool;

    /// Decides the offer (the caller holds the state lock); may complete
    /// `part` (Bitcoin: the reserved coins and the expiry).
    async fn decide(
        &self,
        c: &Calculator,
        req: &pb::OfferRequest,
        offer: &CommonOffer,
        part: &mut SubSettlement,
    ) -> Result<Decision>;

    /// The chain part of an accepted answer (Bitcoin: the deposit coins and
    /// scripts, and when the offer expires).
    fn accepted(&self, c: &Calculator, rec: &SubTaskRecord) -> pb::OfferResponse;

    /// StartWork's chain checks (FAILED_PRECONDITION / INVALID_ARGUMENT).
    async fn check_start(
        &self,
        c: &Calculator,
        rec: &SubTaskRecord,
        req: &pb::StartWorkRequest,
    ) -> Result<()>;

    /// Is the escrow final on chain (work may start)?
    async fn escrow_final(&self, c: &Calculator, rec: &SubTaskRecord) -> Result<bool>;

    /// Stores the computed r_i and the signed commitment (and, on Ethereum,
    /// the signed `commit`, then sends it); the record was COMPUTING.
    async fn deliver(
        &self,
        c: &Calculator,
        job: &str,
        result: &SubResult,
        tree: Arc<MerkleTree>,
        signed: SignedCommitment,
    ) -> Result<()>;

    /// The driver's pass over this chain's non-terminal records.
    async fn tick(&self, c: &Arc<Calculator>, records: Vec<SubTaskRecord>) -> Result<()>;

    /// FetchResult's and GetStatus's chain parts.
    fn describe(&self, rec: &SubTaskRecord, status: &mut pb::GetStatusResponse);

    /// FetchResult's commit transaction hash (Ethereum), empty otherwise.
    fn commit_tx_hash(&self, rec: &SubTaskRecord) -> Vec<u8>;
}

/// The settlement of a stored sub-task.
pub fn of(rec: &SubTaskRecord) -> &'static dyn Settlement {
    match rec.settlement {
        SubSettlement::Bitcoin(_) => &bitcoin::Bitcoin,
        SubSettlement::Ethereum(_) => &ethereum::Ethereum,
    }
}

/// The settlement of an offer's chain (`None`: unknown chain).
pub fn for_chain(chain: i32) -> Option<&'static dyn Settlement> {
    match Chain::try_from(chain) {
        Ok(Chain::Bitcoin) => Some(&bitcoin::Bitcoin),
        Ok(Chain::Ethereum) => Some(&ethereum::Ethereum),
        _ => None,
    }
}

/// Groups records by settlement: (settlement, its records).
pub fn by_chain(records: Vec<SubTaskRecord>) -> Vec<(&'static dyn Settlement, Vec<SubTaskRecord>)> {
    let (mut btc, mut eth) = (Vec::new(), Vec::new());
    for r in records {
        match r.settlement {
            SubSettlement::Bitcoin(_) => btc.push(r),
            SubSettlement::Ethereum(_) => eth.push(r),
        }
    }
    let mut out: Vec<(&'static dyn Settlement, Vec<SubTaskRecord>)> = Vec::new();
    if !btc.is_empty() {
        out.push((&bitcoin::Bitcoin, btc));
    }
    if !eth.is_empty() {
        out.push((&ethereum::Ethereum, eth));
    }
    out
}
