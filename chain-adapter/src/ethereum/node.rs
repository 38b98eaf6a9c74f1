//! The `EthereumNode` trait: the adapter's one dependency on an Ethereum
//! JSON-RPC node. [`AlloyNode`] is the real one (alloy's HTTP provider);
//! every call is bounded by the configured timeout, so a dead node is
//! UNAVAILABLE and a stuck one DEADLINE_EXCEEDED.

use std::future::{Future, IntoFuture};
use std::time::Duration;

use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::{Filter, Log, TransactionReceipt, TransactionRequest};
use alloy::transports::{RpcError, TransportErrorKind};
use serde_json::Value;

use crate::error::{Error, Result};

/// An Ethereum JSON-RPC node.
pub trait EthereumNode: Send + Sync + 'static {
    /// eth_chainId.
    fn chain_id(&self) -> impl Future<Output = Result<u64>> + Send;
    /// web3_clientVersion.
    fn client_version(&self) -> impl Future<Output = Result<String>> + Send;
    /// Latest block number and timestamp.
    fn latest_block(&self) -> impl Future<Output = Result<(u64, u64)>> + Send;
    /// eth_sendRawTransaction; the transaction hash.
    fn send_raw(&self, raw: Vec<u8>) -> impl Future<Output = Result<B256>> + Send;
    /// eth_getTransactionReceipt.
    fn receipt(
        &self,
        hash: B256,
    ) -> impl Future<Output = Result<Option<TransactionReceipt>>> + Send;
    /// eth_call at the latest block.
    fn call(&self, tx: TransactionRequest) -> impl Future<Output = Result<Bytes>> + Send;
    /// Nonce and balance at the latest block.
    fn account(&self, address: Address) -> impl Future<Output = Result<(u64, U256)>> + Send;
    /// eth_getLogs.
    fn logs(&self, filter: Filter) -> impl Future<Output = Result<Vec<Log>>> + Send;
    /// Any other method (anvil_*, evm_*), raw JSON.
    fn raw(
        &self,
        method: &'static str,
        params: Value,
    ) -> impl Future<Output = Result<Value>> + Send;
}

/// The real node over alloy's HTTP provider.
#[derive(Clone, Debug)]
pub struct AlloyNode {
    provider: RootProvider,
    timeout: Duration,
}

impl AlloyNode {
    /// A provider for `url` with a per-call `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self> {
        let url = url
            .parse()
            .map_err(|e| Error::Config(format!("ethereum.rpc_url `{url}`: {e}")))?;
        Ok(AlloyNode {
            provider: RootProvider::new_http(url),
            timeout,
        })
    }

    async fn guard<T, F>(&self, what: &str, fut: F) -> Result<T>
    where
        F: Future<Output = std::result::Result<T, RpcError<TransportErrorKind>>>,
    {
        match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => Err(Error::Timeout(format!(
                "ethereum {what}: no answer in {:?}",
                self.timeout
            ))),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(map_err(what, e)),
        }
    }
}

/// An alloy error as ours: JSON-RPC error objects keep code and message.
fn map_err(what: &str, e: RpcError<TransportErrorKind>) -> Error {
    if let Some(resp) = e.as_error_resp() {
        return Error::NodeRpc {
            method: what.to_string(),
            code: resp.code,
            message: resp.message.to_string(),
        };
    }
    match e {
        RpcError::Transport(kind) => Error::Unavailable(format!("ethereum {what}: {kind}")),
        other => Error::BadReply {
            method: what.to_string(),
            detail: other.to_string(),
        },
    }
}

fn hex_u64(v: &Value, key: &str) -> Result<u64> {
    let s = v
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::BadReply {
            method: "eth_getBlockByNumber".into(),
            detail: format!("no `{key}`"),
        })?;
    u64::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|e| Error::BadReply {
        method: "eth_getBlockByNumber".into(),
        detail: e.to_string(),
    })
}

impl EthereumNode for AlloyNode {
    async fn chain_id(&self) -> Result<u64> {
        self.guard("eth_chainId", self.provider.get_chain_id().into_future())
            .await
    }

    async fn client_version(&self) -> Result<String> {
        self.guard(
            "web3_clientVersion",
            self.provider.get_client_version().into_future(),
        )
        .await
    }

    async fn latest_block(&self) -> Result<(u64, u64)> {
        let v: Value = self
            .guard(
                "eth_getBlockByNumber",
                self.provider
                    .raw_request("eth_getBlockByNumber".into(), ("latest", false)),
            )
            .await?;
        Ok((hex_u64(&v, "number")?, hex_u64(&v, "timestamp")?))
    }

    async fn send_raw(&self, raw: Vec<u8>) -> Result<B256> {
        let pending = self
            .guard(
                "eth_sendRawTransaction",
                self.provider.send_raw_transaction(&raw),
            )
            .await?;
        Ok(*pending.tx_hash())
    }

    async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        self.guard(
            "eth_getTransactionReceipt",
            self.provider.get_transaction_receipt(hash).into_future(),
        )
        .await
    }

    async fn call(&self, tx: TransactionRequest) -> Result<Bytes> {
        self.guard("eth_call", self.provider.call(tx).into_future())
            .await
    }

    async fn account(&self, address: Address) -> Result<(u64, U256)> {
        let nonce = self
            .guard(
                "eth_getTransactionCount",
                self.provider.get_transaction_count(address).into_future(),
            )
            .await?;
        let balance = self
            .guard(
                "eth_getBalance",
                self.provider.get_balance(address).into_future(),
            )
            .await?;
        Ok((nonce, balance))
    }

    async fn logs(&self, filter: Filter) -> Result<Vec<Log>> {
        self.guard("eth_getLogs", self.provider.get_logs(&filter))
            .await
    }

    async fn raw(&self, method: &'static str, params: Value) -> Result<Value> {
        self.guard(method, self.provider.raw_request(method.into(), params))
            .await
    }
}
