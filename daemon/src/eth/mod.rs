//! Ethereum for the role daemons, only through the chain-adapter's
//! `bapay.chain.v1.EthereumService` (never a node URL): [`EthSender`] signs
//! EIP-1559 transactions locally with the daemon's own key (chain id from
//! GetChainInfo, nonce from GetAccount), sends them with SendRawTransaction
//! (which waits for the receipt) and returns the [`Receipt`]; [`EthSender::call`]
//! and the FairPay view helpers read through `Call`.
//!
//! Persist, then send (docs/daemons.md rule 1): [`EthSender::send_persisted`]
//! signs under the sender's mutex, hands the [`SignedTx`] (raw bytes, hash,
//! nonce) to the caller's `persist` closure, and sends only if it returned
//! Ok; after a restart [`EthSender::send_signed`] resends the stored bytes
//! (same nonce, same hash) or finds their receipt. The mutex covers nonce
//! read, signing, persisting and sending, so two sends of one daemon never
//! take the same nonce.
//!
//! Reverts: a transaction without value is first run as a `Call` from the
//! sender, and a revert is returned as [`EthError::Reverted`] with the
//! decoded FairPay error (no gas burnt). `CallRequest` carries no value, so
//! payable calls (`open`, `commit`) are sent without that check; their
//! revert shows as a receipt with `success = false`. The gas limit is fixed
//! per sender ([`EthSender::with_gas_limit`], default [`DEFAULT_GAS_LIMIT`],
//! enough for every FairPay call but a `disputeSearch` at many rounds).
//!
//! [`EthChain`] is the trait the daemons program against (with [`FakeEth`]
//! for unit tests).
//!
//! Logs: [`EthSender::first_log`] reads one through `WatchLogs` (logs.rs).
//!
//! Not yet: fee estimation (fixed max fee / tip, see [`EthSender::with_fees`]),
//! replacing a stuck transaction with a higher fee, re-signing
//! a stored transaction whose nonce another transaction took (possible only
//! if the daemon crashed between storing and sending it and then signed
//! something else first; the stored one then fails "nonce too low").

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, Bytes, TxKind, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use bapay_fairpay::bindings::FairPay;
use bapay_proto::chain::v1 as pb;
use bapay_proto::chain::v1::ethereum_service_client::EthereumServiceClient;
use tonic::transport::Channel;

use crate::keys::SecretKey;

mod calldata;
mod chain;
mod fake;
mod logs;
mod types;
pub use calldata::*;
pub use chain::EthChain;
pub use fake::{FakeEth, FakeTx};
pub use logs::{challenge_answer, ChallengeAnswer, EthLog, LOG_WAIT};
pub use types::{EthError, EthResult, Receipt, SignedTx};

/// Gas limit of every transaction unless set otherwise (FairPay's heaviest
/// honest call, `open`, needs about 50k; `disputeSearch` more with rounds).
pub const DEFAULT_GAS_LIMIT: u64 = 1_000_000;
/// Default max fee per gas, wei (20 gwei).
pub const DEFAULT_MAX_FEE_PER_GAS: u128 = 20_000_000_000;
/// Default priority fee per gas, wei (1 gwei).
pub const DEFAULT_PRIORITY_FEE_PER_GAS: u128 = 1_000_000_000;

/// Chain facts a daemon checks deadlines against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainInfo {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Latest block number.
    pub block_number: u64,
    /// Latest block's timestamp, Unix seconds.
    pub block_timestamp: u64,
}

/// Signs with one daemon key and sends through the chain-adapter.
pub struct EthSender {
    client: EthereumServiceClient<Channel>,
    signer: PrivateKeySigner,
    address: Address,
    gas_limit: u64,
    max_fee_per_gas: u128,
    priority_fee_per_gas: u128,
    lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for EthSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EthSender")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl EthSender {
    /// A sender for `key`, talking to the chain-adapter at `url` (connects
    /// lazily; call inside a Tokio runtime).
    pub fn new(url: &str, key: &SecretKey, tls: &crate::tls::Tls) -> EthResult<Self> {
        let endpoint = tls
            .endpoint(url)
            .map_err(|e| EthError::Adapter(format!("chain-adapter URL: {e}")))?;
        Ok(EthSender {
            client: EthereumServiceClient::new(endpoint.connect_lazy()),
            signer: key.eth_signer(),
            address: key.eth_address(),
            gas_limit: DEFAULT_GAS_LIMIT,
            max_fee_per_gas: DEFAULT_MAX_FEE_PER_GAS,
            priority_fee_per_gas: DEFAULT_PRIORITY_FEE_PER_GAS,
            lock: tokio::sync::Mutex::new(()),
        })
    }

    /// Sets the gas limit of every transaction.
    pub fn with_gas_limit(mut self, gas: u64) -> Self {
        self.gas_limit = gas;
        self
    }

    /// Sets the max fee and the priority fee per gas, wei.
    pub fn with_fees(mut self, max_fee_per_gas: u128, priority_fee_per_gas: u128) -> Self {
        self.max_fee_per_gas = max_fee_per_gas;
        self.priority_fee_per_gas = priority_fee_per_gas;
        self
    }

    /// The sending address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Chain id and the latest block.
    pub async fn chain_info(&self) -> EthResult<ChainInfo> {
        let r = self
            .client
            .clone()
            .get_chain_info(pb::GetChainInfoRequest {})
            .await?
            .into_inner();
        Ok(ChainInfo {
            chain_id: r.chain_id,
            block_number: r.block_number,
            block_timestamp: r.block_timestamp,
        })
    }

    /// Nonce and balance (wei) of `address`.
    pub async fn account(&self, address: Address) -> EthResult<(u64, U256)> {
        let r = self
            .client
            .clone()
            .get_account(pb::GetAccountRequest {
                address: address.to_vec(),
            })
            .await?
            .into_inner();
        let balance = r
            .balance_wei
            .parse()
            .map_err(|e| EthError::BadReply(format!("balance: {e}")))?;
        Ok((r.nonce, balance))
    }

    /// `eth_call` from this sender; a revert is [`EthError::Reverted`] with
    /// the decoded FairPay error when it is one.
    pub async fn call(&self, to: Address, data: Vec<u8>) -> EthResult<Vec<u8>> {
        let r = self
            .client
            .clone()
            .call(pb::CallRequest {
                to: to.to_vec(),
                data,
                from: self.address.to_vec(),
            })
            .await;
        match r {
            Ok(r) => Ok(r.into_inner().data),
            Err(s) if s.code() == tonic::Code::FailedPrecondition => {
                Err(EthError::Reverted(revert_reason(s.message())))
            }
            Err(s) => Err(s.into()),
        }
    }

    /// The receipt of `hash`, if mined.
    pub async fn receipt(&self, hash: B256) -> EthResult<Option<Receipt>> {
        let r = self
            .client
            .clone()
            .get_receipt(pb::GetReceiptRequest {
                transaction_hash: hash.to_vec(),
            })
            .await;
        match r {
            Ok(r) => r.into_inner().receipt.map(Receipt::from_proto).transpose(),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(s.into()),
        }
    }

    /// Sends without persisting (tests, or calls nothing depends on).
    pub async fn send(&self, to: Address, value: U256, data: Vec<u8>) -> EthResult<Receipt> {
        self.send_persisted(to, value, data, |_| Ok(())).await
    }

    /// Checks (value 0: by `Call`), signs with the next nonce, runs
    /// `persist` on the signed transaction, and only then sends it and
    /// waits for its receipt. All under this sender's mutex.
    pub async fn send_persisted<F>(
        &self,
        to: Address,
        value: U256,
        data: Vec<u8>,
        persist: F,
    ) -> EthResult<Receipt>
    where
        F: FnOnce(&SignedTx) -> std::result::Result<(), String>,
    {
        let _g = self.lock.lock().await;
        let signed = self.sign_next(to, value, data).await?;
        persist(&signed).map_err(EthError::Persist)?;
        self.relay(&signed).await
    }

    /// Signs a transaction with the sender's next nonce (chain id from
    /// GetChainInfo, nonce from GetAccount); value 0: checked by `Call`
    /// first. The caller stores it, then [`Self::send_signed`]s it, and
    /// serializes sign_next .. send itself (use [`Self::send_persisted`]
    /// when it cannot).
    pub async fn sign_next(&self, to: Address, value: U256, data: Vec<u8>) -> EthResult<SignedTx> {
        if value.is_zero() {
            self.call(to, data.clone()).await?;
        }
        let info = self.chain_info().await?;
        let (nonce, _) = self.account(self.address).await?;
        self.sign(info.chain_id, nonce, to, value, data)
    }

    /// Resends a stored transaction (same bytes), or returns its receipt if
    /// it is already mined.
    pub async fn send_signed(&self, tx: &SignedTx) -> EthResult<Receipt> {
        let _g = self.lock.lock().await;
        if let Some(r) = self.receipt(tx.hash).await? {
            return Ok(r);
        }
        self.relay(tx).await
    }

    /// Signs an EIP-1559 transaction with this sender's key.
    pub fn sign(
        &self,
        chain_id: u64,
        nonce: u64,
        to: Address,
        value: U256,
        data: Vec<u8>,
    ) -> EthResult<SignedTx> {
        let mut tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit: self.gas_limit,
            max_fee_per_gas: self.max_fee_per_gas,
            max_priority_fee_per_gas: self.priority_fee_per_gas,
            to: TxKind::Call(to),
            value,
            access_list: Default::default(),
            input: Bytes::from(data),
        };
        let sig = self
            .signer
            .sign_transaction_sync(&mut tx)
            .map_err(|e| EthError::BadReply(format!("signing: {e}")))?;
        let env = TxEnvelope::from(tx.into_signed(sig));
        Ok(SignedTx {
            raw_hex: hex::encode(env.encoded_2718()),
            hash: *env.tx_hash(),
            nonce,
        })
    }

    async fn relay(&self, tx: &SignedTx) -> EthResult<Receipt> {
        let sent = self
            .client
            .clone()
            .send_raw_transaction(pb::SendRawTransactionRequest {
                raw_tx: tx.raw()?,
                no_wait: false,
                wait_timeout_ms: 0,
            })
            .await;
        match sent {
            Ok(r) => match r.into_inner().receipt {
                Some(r) => Receipt::from_proto(r),
                None => self
                    .receipt(tx.hash)
                    .await?
                    .ok_or_else(|| EthError::Adapter("sent, no receipt yet".into())),
            },
            // Already mined (nonce used by this very transaction)?
            Err(s) => match self.receipt(tx.hash).await? {
                Some(r) => Ok(r),
                None => Err(s.into()),
            },
        }
    }

    // ------------------------------------------------------ FairPay

    /// `state(id)`: 0 none / settled, 1 opened, else the committed root.
    pub async fn fairpay_state(&self, contract: Address, id: B256) -> EthResult<B256> {
        let out = self
            .call(contract, FairPay::stateCall { id }.abi_encode())
            .await?;
        FairPay::stateCall::abi_decode_returns(&out).map_err(|e| EthError::BadReply(e.to_string()))
    }

    /// `challenges(id)`: 0, CLOSED (1) or `(seed << 64) | deadline`
    /// (`bapay_fairpay::challenge_state` decodes it).
    pub async fn fairpay_challenges(&self, contract: Address, id: B256) -> EthResult<U256> {
        let out = self
            .call(contract, FairPay::challengesCall { id }.abi_encode())
            .await?;
        FairPay::challengesCall::abi_decode_returns(&out)
            .map_err(|e| EthError::BadReply(e.to_string()))
    }

    /// `trappedTo(group)`: the trap recipient, zero if not trapped.
    pub async fn fairpay_trapped_to(&self, contract: Address, group: B256) -> EthResult<Address> {
        let out = self
            .call(contract, FairPay::trappedToCall { group }.abi_encode())
            .await?;
        FairPay::trappedToCall::abi_decode_returns(&out)
            .map_err(|e| EthError::BadReply(e.to_string()))
    }
}

#[cfg(test)]
mod tests;
