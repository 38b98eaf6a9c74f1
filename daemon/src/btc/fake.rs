//! [`FakeBitcoin`]: an in-memory Bitcoin for unit tests. It keeps what a
//! role daemon can observe through the chain-adapter: a tip, confirmed
//! transactions and their depth, a mempool, the UTXO set derived from them
//! (plus coins a test hands out), and bitcoind's rules that matter to the
//! protocol: a transaction is final in block h iff nLockTime < h (so the
//! mempool takes it once the tip is nLockTime), and an output is spent
//! once. Blocks are mined only when the test says so.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use bitcoin::{OutPoint, Transaction, Txid};

use super::{BitcoinChain, Coin, Spender, TxStatus};
use crate::adapter::{AdapterError, AdapterResult};

#[derive(Debug, Default)]
struct Inner {
    tip: u64,
    /// Coins handed out by the test: (script, coin).
    coins: Vec<(Vec<u8>, Coin)>,
    /// Known transactions and the height that confirmed them.
    txs: HashMap<Txid, (Transaction, Option<u64>)>,
    /// Status overrides by txid (a test's shortcut for "this is at depth").
    overrides: HashMap<String, TxStatus>,
    /// Outputs marked spent by the test.
    spent: HashSet<OutPoint>,
    /// Every accepted broadcast, raw.
    broadcasts: Vec<Vec<u8>>,
    /// Transactions below the mempool minimum: refused alone, accepted in
    /// a package with a child that spends them.
    below_minimum: HashSet<Txid>,
    /// What `fee_rate` answers (sat/vB); 0 means 2.
    fee_rate: f64,
    /// Every accepted package, raw.
    packages: Vec<Vec<Vec<u8>>>,
    down: bool,
}

/// An in-memory chain (see the module docs). Cheap to share: wrap it in an
/// `Arc` and hand it to every daemon of the test.
#[derive(Debug, Default)]
pub struct FakeBitcoin {
    inner: Mutex<Inner>,
}

fn err(m: impl Into<String>) -> AdapterError {
    AdapterError(m.into())
}

impl FakeBitcoin {
    /// A chain at height `tip`.
    pub fn new(tip: u64) -> Self {
        let f = FakeBitcoin::default();
        f.set_tip(tip);
        f
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn up(&self) -> AdapterResult<MutexGuard<'_, Inner>> {
        let g = self.lock();
        if g.down {
            return Err(err("Unavailable: fake chain down"));
        }
        Ok(g)
    }

    /// Sets the tip height (mempool transactions stay unconfirmed).
    pub fn set_tip(&self, h: u64) {
        self.lock().tip = h;
    }

    /// The tip height.
    pub fn tip(&self) -> u64 {
        self.lock().tip
    }

    /// Mines `n` blocks; the first one confirms every mempool transaction
    /// that is final in it.
    pub fn mine(&self, n: u64) {
        let mut g = self.lock();
        if n == 0 {
            return;
        }
        let h = g.tip + 1;
        for (tx, at) in g.txs.values_mut() {
            if at.is_none() && u64::from(tx.lock_time.to_consensus_u32()) < h {
                *at = Some(h);
            }
        }
        g.tip += n;
    }

    /// Hands out a confirmed coin paying `script`.
    pub fn add_coin(&self, script: &[u8], coin: Coin) {
        self.lock().coins.push((script.to_vec(), coin));
    }

    /// Makes `tx` known with `confirmations` (0: in the mempool).
    pub fn add_tx(&self, tx: &Transaction, confirmations: u64) {
        let mut g = self.lock();
        let at = (confirmations > 0).then(|| (g.tip + 1).saturating_sub(confirmations));
        g.txs.insert(tx.compute_txid(), (tx.clone(), at));
    }

    /// Overrides what `tx_status(txid)` answers.
    pub fn set_tx_status(&self, txid: &str, status: TxStatus) {
        self.lock().overrides.insert(txid.to_string(), status);
    }

    /// Drops an unconfirmed transaction from the mempool (eviction, a
    /// restarted node): the daemon that needs it must broadcast it again.
    pub fn evict(&self, txid: &str) {
        let mut g = self.lock();
        g.txs
            .retain(|id, (_, at)| at.is_some() || id.to_string() != txid);
    }

    /// Marks an output spent.
    pub fn spend(&self, outpoint: OutPoint) {
        self.lock().spent.insert(outpoint);
    }

    /// Makes every call fail as if the adapter were unreachable.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// A fee spike for `txid`: refused alone ("min relay fee not met"),
    /// taken only in a package whose child spends it; `fee_rate` answers
    /// `rate` from now on.
    pub fn fee_spike(&self, txid: Txid, rate: f64) {
        let mut g = self.lock();
        g.below_minimum.insert(txid);
        g.fee_rate = rate;
    }

    /// Every accepted package, raw, in order.
    pub fn packages(&self) -> Vec<Vec<Vec<u8>>> {
        self.lock().packages.clone()
    }

    /// Every accepted broadcast, raw, in order.
    pub fn broadcasts(&self) -> Vec<Vec<u8>> {
        self.lock().broadcasts.clone()
    }

    /// The transaction that spends `outpoint`, if one is known.
    pub fn spender(&self, outpoint: &OutPoint) -> Option<Transaction> {
        let g = self.lock();
        g.txs
            .values()
            .find(|(tx, _)| tx.input.iter().any(|i| i.previous_output == *outpoint))
            .map(|(tx, _)| tx.clone())
    }
}

impl Inner {
    fn spent_by_known(&self, op: &OutPoint, confirmed_only: bool) -> bool {
        self.spent.contains(op)
            || self.txs.values().any(|(tx, at)| {
                (!confirmed_only || at.is_some())
                    && tx.input.iter().any(|i| i.previous_output == *op)
            })
    }
}

#[tonic::async_trait]
impl BitcoinChain for FakeBitcoin {
    async fn tip_height(&self) -> AdapterResult<u64> {
        Ok(self.up()?.tip)
    }

    async fn list_unspent(&self, script_pubkey: &[u8]) -> AdapterResult<Vec<Coin>> {
        let g = self.up()?;
        let mut out: Vec<Coin> = g
            .coins
            .iter()
            .filter(|(s, c)| {
                s == script_pubkey && !c.outpoint().is_some_and(|op| g.spent_by_known(&op, true))
            })
            .map(|(_, c)| c.clone())
            .collect();
        for (txid, (tx, at)) in &g.txs {
            if at.is_none() {
                continue;
            }
            for (vout, o) in tx.output.iter().enumerate() {
                let op = OutPoint {
                    txid: *txid,
                    vout: vout as u32,
                };
                if o.script_pubkey.as_bytes() == script_pubkey && !g.spent_by_known(&op, true) {
                    out.push(Coin {
                        txid: txid.to_string(),
                        vout: vout as u32,
                        value_sat: o.value.to_sat(),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn tx_status(&self, txid: &str) -> AdapterResult<Option<TxStatus>> {
        let g = self.up()?;
        if let Some(s) = g.overrides.get(txid) {
            return Ok(Some(s.clone()));
        }
        let Ok(id) = txid.parse::<Txid>() else {
            return Ok(None);
        };
        Ok(g.txs.get(&id).map(|(tx, at)| TxStatus {
            confirmations: at.map(|h| g.tip + 1 - h).unwrap_or(0),
            raw_tx: bitcoin::consensus::serialize(tx),
        }))
    }

    async fn broadcast(&self, raw_tx: &[u8]) -> AdapterResult<String> {
        let mut g = self.up()?;
        let tx: Transaction = bitcoin::consensus::deserialize(raw_tx)
            .map_err(|e| err(format!("InvalidArgument: undecodable: {e}")))?;
        let txid = tx.compute_txid();
        if g.txs.contains_key(&txid) {
            g.broadcasts.push(raw_tx.to_vec());
            return Ok(txid.to_string());
        }
        if g.below_minimum.contains(&txid) {
            return Err(err("FailedPrecondition: min relay fee not met"));
        }
        accept(&mut g, tx, raw_tx)
    }

    async fn submit_package(&self, raw_txs: &[Vec<u8>]) -> AdapterResult<Vec<String>> {
        let mut g = self.up()?;
        let txs = raw_txs
            .iter()
            .map(|r| bitcoin::consensus::deserialize::<Transaction>(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(format!("InvalidArgument: undecodable: {e}")))?;
        let Some((child, parents)) = txs.split_last() else {
            return Err(err("InvalidArgument: empty package"));
        };
        for p in parents {
            let id = p.compute_txid();
            if !child.input.iter().any(|i| i.previous_output.txid == id) {
                return Err(err(format!(
                    "FailedPrecondition: {id} is not a parent of the child"
                )));
            }
        }
        for (tx, raw) in txs.iter().zip(raw_txs) {
            let txid = tx.compute_txid();
            if !g.txs.contains_key(&txid) {
                accept(&mut g, tx.clone(), raw)?;
            }
        }
        g.packages.push(raw_txs.to_vec());
        Ok(txs.iter().map(|t| t.compute_txid().to_string()).collect())
    }

    async fn fee_rate(&self) -> AdapterResult<f64> {
        let g = self.up()?;
        Ok(if g.fee_rate > 0.0 { g.fee_rate } else { 2.0 })
    }

    async fn find_spender(&self, outpoint: &OutPoint) -> AdapterResult<Option<Spender>> {
        let g = self.up()?;
        Ok(g.txs.values().find_map(|(tx, at)| {
            let input_index = tx
                .input
                .iter()
                .position(|i| i.previous_output == *outpoint)?;
            Some(Spender {
                tx: tx.clone(),
                input_index,
                confirmations: at.map(|h| g.tip + 1 - h).unwrap_or(0),
            })
        }))
    }
}

/// The mempool's checks and acceptance of one transaction (finality, no
/// double spend).
fn accept(g: &mut Inner, tx: Transaction, raw_tx: &[u8]) -> AdapterResult<String> {
    let txid = tx.compute_txid();
    {
        // Final in the next block iff nLockTime < tip + 1.
        if u64::from(tx.lock_time.to_consensus_u32()) > g.tip {
            return Err(err("FailedPrecondition: non-final"));
        }
        if let Some(i) = tx
            .input
            .iter()
            .find(|i| g.spent_by_known(&i.previous_output, false))
        {
            return Err(err(format!(
                "FailedPrecondition: {} already spent (txn-mempool-conflict)",
                i.previous_output
            )));
        }
    }
    g.txs.insert(txid, (tx, None));
    g.broadcasts.push(raw_tx.to_vec());
    Ok(txid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::absolute::LockTime;
    use bitcoin::transaction::Version;
    use bitcoin::{Amount, ScriptBuf, Sequence, TxIn, TxOut, Witness};

    fn tx(prev: OutPoint, lock: u32, script: &ScriptBuf) -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::from_consensus(lock),
            input: vec![TxIn {
                previous_output: prev,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_LOCKTIME_NO_RBF,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(1000),
                script_pubkey: script.clone(),
            }],
        }
    }

    #[tokio::test]
    async fn mempool_finality_and_double_spends() {
        let chain = FakeBitcoin::new(10);
        let script = ScriptBuf::from_bytes(vec![0x51]);
        let coin = Coin {
            txid: Txid::from_raw_hash(bitcoin::hashes::Hash::all_zeros()).to_string(),
            vout: 0,
            value_sat: 5000,
        };
        chain.add_coin(script.as_bytes(), coin.clone());
        assert_eq!(
            chain.list_unspent(script.as_bytes()).await.unwrap().len(),
            1
        );
        let op = coin.outpoint().unwrap();
        let late = tx(op, 11, &script);
        assert!(chain
            .broadcast(&bitcoin::consensus::serialize(&late))
            .await
            .is_err());
        let now = tx(op, 10, &script);
        let txid = chain
            .broadcast(&bitcoin::consensus::serialize(&now))
            .await
            .unwrap();
        assert_eq!(
            chain.tx_status(&txid).await.unwrap().unwrap().confirmations,
            0
        );
        let other = tx(op, 0, &ScriptBuf::from_bytes(vec![0x52]));
        assert!(chain
            .broadcast(&bitcoin::consensus::serialize(&other))
            .await
            .is_err());
        chain.mine(2);
        assert_eq!(
            chain.tx_status(&txid).await.unwrap().unwrap().confirmations,
            2
        );
        let unspent = chain.list_unspent(script.as_bytes()).await.unwrap();
        assert_eq!(unspent.len(), 1);
        assert_eq!(unspent[0].txid, txid);
        assert_eq!(chain.spender(&op).unwrap().compute_txid().to_string(), txid);
        chain.set_down(true);
        assert!(chain.tip_height().await.is_err());
    }
}
