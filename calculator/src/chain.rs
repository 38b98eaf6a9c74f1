//! How the calculator reaches Bitcoin: the [`Chain`] trait, implemented by
//! [`AdapterChain`] over the chain-adapter's `bapay.chain.v1.BitcoinService`
//! (GetTip, ListUnspent, GetTransactionStatus, BroadcastTransaction) and by
//! [`FakeChain`] for tests. Implemented: those four calls. Not yet: `Watch`
//! streams (the driver polls instead), fee estimation, Ethereum.

use std::sync::Mutex;

pub use bapay_daemon::adapter::TxStatus;
use bapay_daemon::AdapterClient;

use crate::error::{CalculatorError, Result};

/// A confirmed coin paying to a script.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Coin {
    /// Txid, hex display order.
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Value, sat.
    pub value_sat: u64,
}

/// The chain operations the calculator needs.
#[tonic::async_trait]
pub trait Chain: Send + Sync + std::fmt::Debug {
    /// Height of the best block.
    async fn tip_height(&self) -> Result<u64>;
    /// Confirmed unspent outputs paying `script_pubkey`.
    async fn list_unspent(&self, script_pubkey: &[u8]) -> Result<Vec<Coin>>;
    /// Status of a transaction (`None`: unknown to the node).
    async fn tx_status(&self, txid: &str) -> Result<Option<TxStatus>>;
    /// Relays a signed transaction; returns its txid.
    async fn broadcast(&self, raw_tx: &[u8]) -> Result<String>;
}

/// The chain-adapter client (connects lazily, so the daemon starts while the
/// adapter is down; calls then fail with UNAVAILABLE).
#[derive(Debug, Clone)]
pub struct AdapterChain {
    client: AdapterClient,
}

impl AdapterChain {
    /// A client for `url` (e.g. `http://127.0.0.1:50051`).
    pub fn new(url: &str) -> Result<Self> {
        Ok(AdapterChain {
            client: AdapterClient::new(url)?,
        })
    }
}

#[tonic::async_trait]
impl Chain for AdapterChain {
    async fn tip_height(&self) -> Result<u64> {
        Ok(self.client.tip_height().await?)
    }

    async fn list_unspent(&self, script_pubkey: &[u8]) -> Result<Vec<Coin>> {
        let utxos = self.client.list_unspent(script_pubkey).await?;
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

    async fn tx_status(&self, txid: &str) -> Result<Option<TxStatus>> {
        Ok(self.client.tx_status(txid).await?)
    }

    async fn broadcast(&self, raw_tx: &[u8]) -> Result<String> {
        Ok(self.client.broadcast(raw_tx).await?)
    }
}

/// An in-memory chain for tests: a settable tip, coins, transaction
/// statuses, and the list of broadcasts (a broadcast of a transaction whose
/// nLockTime is above the tip fails as "non-final", like bitcoind).
#[derive(Debug, Default)]
pub struct FakeChain {
    inner: Mutex<FakeInner>,
}

#[derive(Debug, Default)]
struct FakeInner {
    tip: u64,
    coins: Vec<(Vec<u8>, Coin)>,
    txs: Vec<(String, TxStatus)>,
    broadcasts: Vec<Vec<u8>>,
    down: bool,
}

impl FakeChain {
    fn lock(&self) -> std::sync::MutexGuard<'_, FakeInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// Sets the tip height.
    pub fn set_tip(&self, h: u64) {
        self.lock().tip = h;
    }
    /// Adds a coin paying `script`.
    pub fn add_coin(&self, script: &[u8], coin: Coin) {
        self.lock().coins.push((script.to_vec(), coin));
    }
    /// Sets a transaction's status.
    pub fn set_tx(&self, txid: &str, status: TxStatus) {
        let mut g = self.lock();
        g.txs.retain(|(t, _)| t != txid);
        g.txs.push((txid.to_string(), status));
    }
    /// Everything broadcast so far.
    pub fn broadcasts(&self) -> Vec<Vec<u8>> {
        self.lock().broadcasts.clone()
    }
    /// Makes every call fail as if the adapter were unreachable.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }
    fn check_up(&self) -> Result<()> {
        if self.lock().down {
            return Err(CalculatorError::Chain("unreachable (fake)".into()));
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl Chain for FakeChain {
    async fn tip_height(&self) -> Result<u64> {
        self.check_up()?;
        Ok(self.lock().tip)
    }
    async fn list_unspent(&self, script_pubkey: &[u8]) -> Result<Vec<Coin>> {
        self.check_up()?;
        Ok(self
            .lock()
            .coins
            .iter()
            .filter(|(s, _)| s == script_pubkey)
            .map(|(_, c)| c.clone())
            .collect())
    }
    async fn tx_status(&self, txid: &str) -> Result<Option<TxStatus>> {
        self.check_up()?;
        Ok(self
            .lock()
            .txs
            .iter()
            .find(|(t, _)| t == txid)
            .map(|(_, s)| s.clone()))
    }
    async fn broadcast(&self, raw_tx: &[u8]) -> Result<String> {
        self.check_up()?;
        let tx: bitcoin::Transaction = bitcoin::consensus::deserialize(raw_tx)
            .map_err(|e| CalculatorError::Chain(format!("undecodable: {e}")))?;
        let mut g = self.lock();
        if u64::from(tx.lock_time.to_consensus_u32()) > g.tip {
            return Err(CalculatorError::Chain("non-final".into()));
        }
        g.broadcasts.push(raw_tx.to_vec());
        Ok(tx.compute_txid().to_string())
    }
}
