//! How the arbiter reaches Bitcoin: the [`Chain`] trait, implemented by
//! [`AdapterChain`] over the chain-adapter's `bapay.chain.v1.BitcoinService`
//! (GetTip, GetTransactionStatus, ListUnspent) and by [`FakeChain`] for
//! tests. Implemented: those three calls (the "before t - margin" and
//! "escrow unspent at depth with the terms' script" checks). Not yet:
//! `Watch` streams, Ethereum.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

pub use bapay_daemon::adapter::TxStatus;
use bapay_daemon::AdapterClient;
use bitcoin::{OutPoint, Transaction};

use crate::error::{ArbiterError, Result};

/// The chain operations the arbiter needs.
#[tonic::async_trait]
pub trait Chain: Send + Sync + std::fmt::Debug {
    /// Height of the best block.
    async fn tip_height(&self) -> Result<u64>;
    /// Status of a transaction (`None`: unknown to the node).
    async fn tx_status(&self, txid: &str) -> Result<Option<TxStatus>>;
    /// Confirmed unspent outputs paying `script_pubkey` (outpoint, sat).
    async fn list_unspent(&self, script_pubkey: &[u8]) -> Result<Vec<(OutPoint, u64)>>;
}

/// The chain-adapter client (connects lazily, so the daemon starts while the
/// adapter is down; disputes then fail with UNAVAILABLE).
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

    async fn tx_status(&self, txid: &str) -> Result<Option<TxStatus>> {
        Ok(self.client.tx_status(txid).await?)
    }

    async fn list_unspent(&self, script_pubkey: &[u8]) -> Result<Vec<(OutPoint, u64)>> {
        let mut out = Vec::new();
        for u in self.client.list_unspent(script_pubkey).await? {
            let Some(op) = u.outpoint else { continue };
            let txid = op
                .txid
                .parse()
                .map_err(|e| ArbiterError::Chain(format!("adapter txid {}: {e}", op.txid)))?;
            out.push((
                OutPoint {
                    txid,
                    vout: op.vout,
                },
                u.value_sat,
            ));
        }
        Ok(out)
    }
}

/// An in-memory chain for tests: a settable tip, known transactions, spent
/// outpoints and an "adapter down" switch.
#[derive(Debug, Default)]
pub struct FakeChain {
    inner: Mutex<FakeInner>,
}

#[derive(Debug, Default)]
struct FakeInner {
    tip: u64,
    txs: HashMap<String, TxStatus>,
    spent: HashSet<OutPoint>,
    down: bool,
}

impl FakeChain {
    /// A chain at `tip`.
    pub fn new(tip: u64) -> Self {
        let chain = FakeChain::default();
        chain.set_tip(tip);
        chain
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the tip.
    pub fn set_tip(&self, tip: u64) {
        self.lock().tip = tip;
    }

    /// Makes `tx` known at `confirmations`.
    pub fn add_tx(&self, tx: &Transaction, confirmations: u64) {
        self.lock().txs.insert(
            tx.compute_txid().to_string(),
            TxStatus {
                confirmations,
                raw_tx: bitcoin::consensus::serialize(tx),
            },
        );
    }

    /// Marks an output spent.
    pub fn spend(&self, outpoint: OutPoint) {
        self.lock().spent.insert(outpoint);
    }

    /// Makes every call fail as if the adapter were down.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    fn up(&self) -> Result<std::sync::MutexGuard<'_, FakeInner>> {
        let g = self.lock();
        if g.down {
            return Err(ArbiterError::Chain("fake chain down".into()));
        }
        Ok(g)
    }
}

#[tonic::async_trait]
impl Chain for FakeChain {
    async fn tip_height(&self) -> Result<u64> {
        Ok(self.up()?.tip)
    }

    async fn tx_status(&self, txid: &str) -> Result<Option<TxStatus>> {
        Ok(self.up()?.txs.get(txid).cloned())
    }

    async fn list_unspent(&self, script_pubkey: &[u8]) -> Result<Vec<(OutPoint, u64)>> {
        let g = self.up()?;
        let mut out = Vec::new();
        for st in g.txs.values().filter(|s| s.confirmations > 0) {
            let tx: Transaction = bitcoin::consensus::deserialize(&st.raw_tx)
                .map_err(|e| ArbiterError::Chain(e.to_string()))?;
            for (vout, o) in tx.output.iter().enumerate() {
                let op = OutPoint {
                    txid: tx.compute_txid(),
                    vout: vout as u32,
                };
                if o.script_pubkey.as_bytes() == script_pubkey && !g.spent.contains(&op) {
                    out.push((op, o.value.to_sat()));
                }
            }
        }
        Ok(out)
    }
}
