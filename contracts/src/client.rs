//! A typed client over one deployed FairPay.
//!
//! Each method sends one transaction from the provider's wallet, waits for its
//! receipt and turns a revert into the contract's custom error, so a daemon
//! can write `client.payout(&job).await` and match on `Error::Reverted`.

use alloy::network::{Ethereum, EthereumWallet};
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;

use crate::audit::AuditParams;
use crate::bindings::FairPay::{self, FairPayInstance};
use crate::bindings::FairPayBase;
use crate::error::from_contract;
use crate::job::{JobParams, SearchParams};
use crate::trap::TrapSignature;
use crate::{Error, Result};

/// A provider that signs with `signer`, with the filler stack FairPay needs:
/// gas estimation, chain id, and *simple* nonce management (the nonce is
/// fetched per transaction). alloy's default cached nonce manager consumes a
/// nonce even when the gas estimate fails on a revert, which leaves a gap and
/// every later transaction of that wallet pending forever; FairPay reverts
/// are routine (too early, already settled), so the default is unusable.
pub fn wallet_provider(url: &str, signer: PrivateKeySigner) -> Result<DynProvider> {
    let url = url
        .parse()
        .map_err(|_| Error::InvalidParams("not a valid RPC URL"))?;
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url)
        .erased())
}

/// One FairPay contract, seen through one wallet-bearing provider (build it
/// with [`wallet_provider`]).
#[derive(Clone, Debug)]
pub struct FairPayClient<P> {
    contract: FairPayInstance<P, Ethereum>,
}

impl<P: Provider<Ethereum> + Clone> FairPayClient<P> {
    /// A client for the contract at `address`.
    pub fn new(address: Address, provider: P) -> Self {
        Self {
            contract: FairPay::new(address, provider),
        }
    }

    /// Deploys a fresh FairPay (a one-off: it serves every job).
    pub async fn deploy(provider: P) -> Result<Self> {
        let contract = FairPay::deploy(provider).await.map_err(from_contract)?;
        Ok(Self { contract })
    }

    /// The contract's address.
    pub fn address(&self) -> Address {
        *self.contract.address()
    }

    /// The underlying alloy instance, for anything not wrapped here.
    pub fn instance(&self) -> &FairPayInstance<P, Ethereum> {
        &self.contract
    }

    /// The stored state of a job: 0 none/settled, 1 open, 2 BOND_LEFT, 3
    /// REWARD_LEFT (a trapped group's half-settled job), else the root.
    pub async fn state(&self, id: B256) -> Result<B256> {
        self.contract.state(id).call().await.map_err(from_contract)
    }

    /// `challenges(id)`, decoded.
    pub async fn challenge_state(&self, id: B256) -> Result<crate::ChallengeState> {
        let v = self
            .contract
            .challenges(id)
            .call()
            .await
            .map_err(from_contract)?;
        Ok(crate::challenge_state(v))
    }

    /// O challenges W's committed root with `c`, sending the audit's deposit.
    pub async fn challenge(
        &self,
        job: &JobParams,
        a: &AuditParams,
        c: B256,
    ) -> Result<TransactionReceipt> {
        let call = self
            .contract
            .challenge(job.clone(), a.clone(), c)
            .value(U256::from(a.deposit));
        finish(call.send().await).await
    }

    /// W answers a pending challenge (any kind but search).
    pub async fn respond(
        &self,
        job: &JobParams,
        a: &AuditParams,
        leaves: Vec<alloy::primitives::Bytes>,
        proofs: Vec<Vec<B256>>,
    ) -> Result<TransactionReceipt> {
        let call = self
            .contract
            .respond(job.clone(), a.clone(), leaves, proofs);
        finish(call.send().await).await
    }

    /// W answers a pending challenge of a search job.
    pub async fn respond_search(
        &self,
        job: &JobParams,
        a: &AuditParams,
        s: &SearchParams,
        leaves: Vec<FairPayBase::SearchLeaf>,
        proofs: Vec<Vec<B256>>,
    ) -> Result<TransactionReceipt> {
        let call = self
            .contract
            .respondSearch(job.clone(), a.clone(), s.clone(), leaves, proofs);
        finish(call.send().await).await
    }

    /// O takes reward + bond + deposit of an unanswered challenge.
    pub async fn claim_unanswered(
        &self,
        job: &JobParams,
        a: &AuditParams,
    ) -> Result<TransactionReceipt> {
        finish(
            self.contract
                .claimUnanswered(job.clone(), a.clone())
                .send()
                .await,
        )
        .await
    }

    /// The trap recipient of a group, `Address::ZERO` if not trapped.
    pub async fn trapped_to(&self, group: B256) -> Result<Address> {
        self.contract
            .trappedTo(group)
            .call()
            .await
            .map_err(from_contract)
    }

    /// O opens `job`, sending `job.reward`.
    pub async fn open(&self, job: &JobParams) -> Result<TransactionReceipt> {
        let call = self
            .contract
            .open(job.clone())
            .value(U256::from(job.reward));
        finish(call.send().await).await
    }

    /// W posts `job.bond` and commits `root`.
    pub async fn commit(&self, job: &JobParams, root: B256) -> Result<TransactionReceipt> {
        let call = self
            .contract
            .commit(job.clone(), root)
            .value(U256::from(job.bond));
        finish(call.send().await).await
    }

    /// W takes reward + bond (from t on).
    pub async fn payout(&self, job: &JobParams) -> Result<TransactionReceipt> {
        finish(self.contract.payout(job.clone()).send().await).await
    }

    /// T judges W at fault (before t).
    pub async fn judge(&self, job: &JobParams) -> Result<TransactionReceipt> {
        finish(self.contract.judge(job.clone()).send().await).await
    }

    /// O takes the reward back (W did not commit by the deadline).
    pub async fn refund(&self, job: &JobParams) -> Result<TransactionReceipt> {
        finish(self.contract.refund(job.clone()).send().await).await
    }

    /// O proves the search leaf at `position` wrong (before t).
    pub async fn dispute_search(
        &self,
        job: &JobParams,
        search: &SearchParams,
        position: u64,
        leaf: FairPayBase::SearchLeaf,
        proof: Vec<B256>,
    ) -> Result<TransactionReceipt> {
        let call = self
            .contract
            .disputeSearch(job.clone(), search.clone(), position, leaf, proof);
        finish(call.send().await).await
    }

    /// The recipient (this wallet) springs the collusion trap of a group.
    pub async fn trap(
        &self,
        collusion: Address,
        workers: Vec<Address>,
        sig: TrapSignature,
    ) -> Result<TransactionReceipt> {
        let call = self.contract.trap(collusion, workers, sig.v, sig.r, sig.s);
        finish(call.send().await).await
    }

    /// The trap recipient collects the rewards (never the bonds) of the
    /// jobs of its trapped group.
    pub async fn claim_trapped(&self, jobs: Vec<JobParams>) -> Result<TransactionReceipt> {
        finish(self.contract.claimTrapped(jobs).send().await).await
    }
}

async fn finish<N: alloy::network::Network>(
    sent: Result<alloy::providers::PendingTransactionBuilder<N>, alloy::contract::Error>,
) -> Result<N::ReceiptResponse>
where
    N::ReceiptResponse: alloy::network::ReceiptResponse,
{
    use alloy::network::ReceiptResponse;
    let receipt = sent.map_err(from_contract)?.get_receipt().await?;
    if !receipt.status() {
        return Err(Error::TxFailed(receipt.transaction_hash()));
    }
    Ok(receipt)
}
