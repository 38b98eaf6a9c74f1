//! [`EthChain`]: what a role daemon needs from Ethereum, as a trait so its
//! logic is testable: implemented by [`EthSender`] (the chain-adapter) and
//! by [`FakeEth`] (in memory: settable block time, FairPay job states and
//! traps; it "mines" every sent transaction with a settable outcome and
//! records it).

use std::collections::HashMap;
use std::sync::Mutex;

use alloy::primitives::{keccak256, Address, B256, U256};

use super::{EthError, EthResult, EthSender, Receipt, SignedTx};

/// Ethereum as a role daemon uses it.
#[tonic::async_trait]
pub trait EthChain: Send + Sync {
    /// Chain id and the latest block's timestamp, Unix seconds.
    async fn chain_time(&self) -> EthResult<(u64, u64)>;
    /// FairPay `state(id)`.
    async fn state(&self, contract: Address, id: B256) -> EthResult<B256>;
    /// FairPay `trappedTo(group)`.
    async fn trapped_to(&self, contract: Address, group: B256) -> EthResult<Address>;
    /// [`EthSender::sign_next`].
    async fn sign_next(&self, to: Address, value: U256, data: Vec<u8>) -> EthResult<SignedTx>;
    /// [`EthSender::send_signed`].
    async fn send_signed(&self, tx: &SignedTx) -> EthResult<Receipt>;
}

#[tonic::async_trait]
impl EthChain for EthSender {
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
    async fn sign_next(&self, to: Address, value: U256, data: Vec<u8>) -> EthResult<SignedTx> {
        EthSender::sign_next(self, to, value, data).await
    }
    async fn send_signed(&self, tx: &SignedTx) -> EthResult<Receipt> {
        EthSender::send_signed(self, tx).await
    }
}

/// A transaction the fake "mined".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTx {
    /// Recipient.
    pub to: Address,
    /// Value, wei.
    pub value: U256,
    /// Calldata.
    pub data: Vec<u8>,
    /// Its hash.
    pub hash: B256,
}

/// An in-memory [`EthChain`] for unit tests.
#[derive(Debug, Default)]
pub struct FakeEth {
    inner: Mutex<FakeInner>,
}

#[derive(Debug, Default)]
struct FakeInner {
    chain_id: u64,
    time: u64,
    states: HashMap<B256, B256>,
    traps: HashMap<B256, Address>,
    nonce: u64,
    signed: HashMap<B256, FakeTx>,
    sent: Vec<FakeTx>,
    revert_sends: bool,
    down: bool,
}

impl FakeEth {
    fn lock(&self) -> std::sync::MutexGuard<'_, FakeInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// A fake chain with this id and block time.
    pub fn new(chain_id: u64, time: u64) -> Self {
        let f = FakeEth::default();
        {
            let mut g = f.lock();
            g.chain_id = chain_id;
            g.time = time;
        }
        f
    }
    /// Sets the latest block time.
    pub fn set_time(&self, t: u64) {
        self.lock().time = t;
    }
    /// Sets `state(id)`.
    pub fn set_state(&self, id: B256, v: B256) {
        self.lock().states.insert(id, v);
    }
    /// Traps `group` to `to`.
    pub fn set_trap(&self, group: B256, to: Address) {
        self.lock().traps.insert(group, to);
    }
    /// Makes later sends revert (receipt `success = false`).
    pub fn set_revert_sends(&self, revert: bool) {
        self.lock().revert_sends = revert;
    }
    /// Makes every call fail as if the adapter were unreachable.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }
    /// Every transaction sent (one entry per send, resends included).
    pub fn sent(&self) -> Vec<FakeTx> {
        self.lock().sent.clone()
    }
    fn up(&self) -> EthResult<std::sync::MutexGuard<'_, FakeInner>> {
        let g = self.lock();
        if g.down {
            return Err(EthError::Adapter("unreachable (fake)".into()));
        }
        Ok(g)
    }
}

#[tonic::async_trait]
impl EthChain for FakeEth {
    async fn chain_time(&self) -> EthResult<(u64, u64)> {
        let g = self.up()?;
        Ok((g.chain_id, g.time))
    }
    async fn state(&self, _contract: Address, id: B256) -> EthResult<B256> {
        Ok(self.up()?.states.get(&id).copied().unwrap_or_default())
    }
    async fn trapped_to(&self, _contract: Address, group: B256) -> EthResult<Address> {
        Ok(self.up()?.traps.get(&group).copied().unwrap_or_default())
    }
    async fn sign_next(&self, to: Address, value: U256, data: Vec<u8>) -> EthResult<SignedTx> {
        let mut g = self.up()?;
        let nonce = g.nonce;
        g.nonce += 1;
        let mut pre = data.clone();
        pre.extend(nonce.to_be_bytes());
        let hash = keccak256(&pre);
        g.signed.insert(
            hash,
            FakeTx {
                to,
                value,
                data,
                hash,
            },
        );
        Ok(SignedTx {
            raw_hex: hex::encode(pre),
            hash,
            nonce,
        })
    }
    async fn send_signed(&self, tx: &SignedTx) -> EthResult<Receipt> {
        let mut g = self.up()?;
        let sent = g
            .signed
            .get(&tx.hash)
            .cloned()
            .ok_or_else(|| EthError::Adapter("unknown transaction (fake)".into()))?;
        g.sent.push(sent);
        Ok(Receipt {
            hash: tx.hash,
            success: !g.revert_sends,
            block_number: 1,
            gas_used: 21_000,
            effective_gas_price: U256::from(1),
        })
    }
}
