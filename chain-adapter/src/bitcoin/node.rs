//! The `BitcoinNode` trait: the adapter's one dependency on bitcoind. The
//! real implementation is JSON-RPC ([`super::rpc::RpcNode`]); unit tests use
//! a fake that answers `call` by method name. Typed helpers on top parse the
//! replies the handlers need.

use std::future::Future;

use serde_json::{json, Value};

use crate::error::{Error, Result};

/// A bitcoind JSON-RPC endpoint.
pub trait BitcoinNode: Send + Sync + 'static {
    /// Calls `method` with positional `params`, returning `result`.
    fn call(&self, method: &str, params: Value) -> impl Future<Output = Result<Value>> + Send;
}

/// Best block and chain name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTip {
    /// "main", "test", "testnet4", "signet" or "regtest".
    pub chain: String,
    /// Height of the best block.
    pub height: u64,
    /// Hash of the best block.
    pub hash: String,
}

/// Where a transaction is, as far as the node knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxLocation {
    /// Neither in the mempool nor in the active chain.
    Unknown,
    /// In the mempool.
    Mempool,
    /// In the active chain.
    Confirmed {
        /// Containing block.
        block_hash: String,
        /// Its height.
        height: u64,
        /// Depth (1 = tip).
        confirmations: u64,
    },
}

/// Typed views of the replies, for every `BitcoinNode`.
pub trait BitcoinNodeExt: BitcoinNode {
    /// `getblockchaininfo`.
    fn tip(&self) -> impl Future<Output = Result<ChainTip>> + Send {
        async move {
            let v = self.call("getblockchaininfo", json!([])).await?;
            Ok(ChainTip {
                chain: str_field(&v, "chain", "getblockchaininfo")?,
                height: u64_field(&v, "blocks", "getblockchaininfo")?,
                hash: str_field(&v, "bestblockhash", "getblockchaininfo")?,
            })
        }
    }

    /// `getblockhash height`; `None` above the tip.
    fn block_hash(&self, height: u64) -> impl Future<Output = Result<Option<String>>> + Send {
        async move {
            match self.call("getblockhash", json!([height])).await {
                Ok(v) => v
                    .as_str()
                    .map(|s| Some(s.to_string()))
                    .ok_or_else(|| bad("getblockhash", "not a string")),
                Err(Error::NodeRpc { code: -8, .. }) => Ok(None),
                Err(e) => Err(e),
            }
        }
    }

    /// `getrawtransaction txid true` (needs `-txindex` for confirmed ones),
    /// `None` if the node does not know it.
    fn raw_transaction_verbose(
        &self,
        txid: &str,
    ) -> impl Future<Output = Result<Option<Value>>> + Send {
        async move {
            match self.call("getrawtransaction", json!([txid, true])).await {
                Ok(v) => Ok(Some(v)),
                Err(Error::NodeRpc { code: -5, .. }) => Ok(None),
                Err(e) => Err(e),
            }
        }
    }

    /// Where `txid` is: mempool, active chain (with depth) or unknown.
    fn locate(
        &self,
        txid: &str,
        tip_height: u64,
    ) -> impl Future<Output = Result<(TxLocation, Option<Value>)>> + Send {
        async move {
            let Some(v) = self.raw_transaction_verbose(txid).await? else {
                return Ok((TxLocation::Unknown, None));
            };
            let confs = v.get("confirmations").and_then(Value::as_u64).unwrap_or(0);
            let loc = match v.get("blockhash").and_then(Value::as_str) {
                Some(h) if confs > 0 => TxLocation::Confirmed {
                    block_hash: h.to_string(),
                    height: (tip_height + 1).saturating_sub(confs),
                    confirmations: confs,
                },
                // In a block that left the active chain: only real if the
                // mempool has it again.
                Some(_) => match self.call("getmempoolentry", json!([txid])).await {
                    Ok(_) => TxLocation::Mempool,
                    Err(Error::NodeRpc { code: -5, .. }) => TxLocation::Unknown,
                    Err(e) => return Err(e),
                },
                None => TxLocation::Mempool,
            };
            Ok((loc, Some(v)))
        }
    }
}

impl<N: BitcoinNode + ?Sized> BitcoinNodeExt for N {}

/// A "bad reply" error.
pub fn bad(method: &str, detail: &str) -> Error {
    Error::BadReply {
        method: method.into(),
        detail: detail.into(),
    }
}

/// `v[key]` as a string.
pub fn str_field(v: &Value, key: &str, method: &str) -> Result<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| bad(method, &format!("missing string `{key}`")))
}

/// `v[key]` as an unsigned integer.
pub fn u64_field(v: &Value, key: &str, method: &str) -> Result<u64> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| bad(method, &format!("missing integer `{key}`")))
}

/// A BTC amount (JSON number) in satoshis.
pub fn btc_to_sat(v: &Value) -> Option<u64> {
    let btc = v.as_f64()?;
    if !(0.0..=21e6).contains(&btc) {
        return None;
    }
    Some((btc * 1e8).round() as u64)
}
