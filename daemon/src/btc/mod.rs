//! [`BitcoinChain`]: what a role daemon needs from Bitcoin, as one trait so
//! that every daemon's protocol logic is testable without a node. The real
//! implementation is the chain-adapter client ([`crate::AdapterClient`]);
//! [`FakeBitcoin`] is an in-memory chain for unit tests (a UTXO set, a
//! mempool, blocks mined on demand, bitcoind's finality rule), shared by
//! several daemons of one test so they see the same chain.

pub mod bump;
mod fake;

use bitcoin::{OutPoint, Txid};
use serde::{Deserialize, Serialize};

pub use crate::adapter::TxStatus;
use crate::adapter::{AdapterClient, AdapterResult};
pub use fake::FakeBitcoin;

/// A confirmed unspent output paying a script.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Coin {
    /// Txid, hex display order.
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Value, sat.
    pub value_sat: u64,
}

impl Coin {
    /// The coin's outpoint (`None` if the txid is not hex).
    pub fn outpoint(&self) -> Option<OutPoint> {
        Some(OutPoint {
            txid: self.txid.parse::<Txid>().ok()?,
            vout: self.vout,
        })
    }
}

/// Bitcoin as a role daemon uses it (through the chain-adapter).
#[tonic::async_trait]
pub trait BitcoinChain: Send + Sync + std::fmt::Debug {
    /// Height of the best block.
    async fn tip_height(&self) -> AdapterResult<u64>;
    /// Confirmed unspent outputs paying `script_pubkey`.
    async fn list_unspent(&self, script_pubkey: &[u8]) -> AdapterResult<Vec<Coin>>;
    /// Status of a transaction (`None`: unknown to the node).
    async fn tx_status(&self, txid: &str) -> AdapterResult<Option<TxStatus>>;
    /// Relays a signed transaction; returns its txid.
    async fn broadcast(&self, raw_tx: &[u8]) -> AdapterResult<String>;
    /// The transaction spending `outpoint` (mempool or chain), if any.
    async fn find_spender(&self, outpoint: &OutPoint) -> AdapterResult<Option<Spender>>;
    /// Relays unconfirmed parents with the child that pays for them (CPFP),
    /// parents first; returns the txids in order.
    async fn submit_package(&self, raw_txs: &[Vec<u8>]) -> AdapterResult<Vec<String>>;
    /// The fee rate to pay now, sat/vB: the node's estimate, never below
    /// its mempool minimum.
    async fn fee_rate(&self) -> AdapterResult<f64>;
}

/// The transaction that spent an outpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spender {
    /// The spending transaction (with its witnesses).
    pub tx: bitcoin::Transaction,
    /// Which of its inputs spends the outpoint (checked: in range, and it
    /// spends that outpoint).
    pub input_index: usize,
    /// Depth (0: mempool).
    pub confirmations: u64,
}

#[tonic::async_trait]
impl BitcoinChain for AdapterClient {
    async fn tip_height(&self) -> AdapterResult<u64> {
        AdapterClient::tip_height(self).await
    }

    async fn list_unspent(&self, script_pubkey: &[u8]) -> AdapterResult<Vec<Coin>> {
        let utxos = AdapterClient::list_unspent(self, script_pubkey).await?;
        Ok(utxos
            .into_iter()
            .filter_map(|u| {
                let op = u.outpoint?;
                Some(Coin {
                    txid: op.txid,
                    vout: op.vout,
                    value_sat: u.value_sat,
                })
            })
            .collect())
    }

    async fn tx_status(&self, txid: &str) -> AdapterResult<Option<TxStatus>> {
        AdapterClient::tx_status(self, txid).await
    }

    async fn broadcast(&self, raw_tx: &[u8]) -> AdapterResult<String> {
        AdapterClient::broadcast(self, raw_tx).await
    }

    async fn find_spender(&self, outpoint: &OutPoint) -> AdapterResult<Option<Spender>> {
        AdapterClient::find_spender(self, outpoint).await
    }

    async fn submit_package(&self, raw_txs: &[Vec<u8>]) -> AdapterResult<Vec<String>> {
        AdapterClient::submit_package(self, raw_txs).await
    }

    async fn fee_rate(&self) -> AdapterResult<f64> {
        AdapterClient::fee_rate(self).await
    }
}
