//! [`EthChain`]: what a role daemon needs from Ethereum, as a trait so its
//! logic is testable: implemented by [`EthSender`] (the chain-adapter) and
//! by `super::FakeEth` (in memory, fake.rs).

use alloy::primitives::{Address, B256, U256};

use super::{EthLog, EthResult, EthSender, Receipt, SignedTx};

/// Ethereum as a role daemon uses it.
#[tonic::async_trait]
pub trait EthChain: Send + Sync {
    /// The address this chain client signs for.
    fn address(&self) -> Address;
    /// Chain id and the latest block's timestamp, Unix seconds.
    async fn chain_time(&self) -> EthResult<(u64, u64)>;
    /// FairPay `state(id)`.
    async fn state(&self, contract: Address, id: B256) -> EthResult<B256>;
    /// FairPay `trappedTo(group)`.
    async fn trapped_to(&self, contract: Address, group: B256) -> EthResult<Address>;
    /// FairPay `challenges(id)` (`bapay_fairpay::challenge_state` decodes it).
    async fn challenges(&self, contract: Address, id: B256) -> EthResult<U256>;
    /// [`EthSender::sign_next`].
    async fn sign_next(&self, to: Address, value: U256, data: Vec<u8>) -> EthResult<SignedTx>;
    /// [`EthSender::send_signed`].
    async fn send_signed(&self, tx: &SignedTx) -> EthResult<Receipt>;
    /// [`EthSender::receipt`].
    async fn receipt(&self, hash: B256) -> EthResult<Option<Receipt>>;
    /// [`EthSender::first_log`], waiting [`super::LOG_WAIT`].
    async fn first_log(
        &self,
        contract: Address,
        topics: Vec<B256>,
        from: u64,
    ) -> EthResult<Option<EthLog>>;
}

#[tonic::async_trait]
impl EthChain for EthSender {
    fn address(&self) -> Address {
        EthSender::address(self)
    }
    async fn chain_time(&self) -> EthResult<(u64, u64)> {
        let i = self.chain_info().await?;
        Ok((i.chain_id, i.block_timestamp))
    }
    async fn state(&self, contract: Address, id: B256) -> EthResult<B256> {
        self.fairpay_state(contract, id).await
    }
    async fn trapped_to(&self, contract: Address, group: B256) -> EthResult<Address> {
        self.fairpay_trapped_to(contract, group).await
    }
    async fn challenges(&self, contract: Address, id: B256) -> EthResult<U256> {
        self.fairpay_challenges(contract, id).await
    }
    async fn sign_next(&self, to: Address, value: U256, data: Vec<u8>) -> EthResult<SignedTx> {
        EthSender::sign_next(self, to, value, data).await
    }
    async fn send_signed(&self, tx: &SignedTx) -> EthResult<Receipt> {
        EthSender::send_signed(self, tx).await
    }
    async fn receipt(&self, hash: B256) -> EthResult<Option<Receipt>> {
        EthSender::receipt(self, hash).await
    }
    async fn first_log(
        &self,
        c: Address,
        topics: Vec<B256>,
        from: u64,
    ) -> EthResult<Option<EthLog>> {
        EthSender::first_log(self, c, topics, from, super::LOG_WAIT).await
    }
}
