//! Watch: a server stream following a transaction, the spend of an outpoint
//! or a payment to a script until it is `confirmations` deep.
//!
//! It polls the node (bitcoind has no push without ZMQ) and survives reorgs:
//! once the relevant transaction is known it is re-located on every poll, so
//! a block leaving the active chain (e.g. `invalidateblock`) yields REORGED
//! and the re-mined transaction CONFIRMED again. While searching, scanned
//! blocks are remembered by hash and re-scanned when a reorg replaces them.

use std::collections::VecDeque;

use bapay_proto::chain::v1 as pb;
use bitcoin::{OutPoint, ScriptBuf};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::node::TxLocation;
use super::{parse, utxo, BitcoinApi, BitcoinNode, BitcoinNodeExt};
use crate::error::{Error, Result};

/// The stream type of `Watch`.
pub type WatchStream = ReceiverStream<std::result::Result<pb::WatchEvent, Status>>;

/// Consecutive failed polls (node down) tolerated before the stream ends
/// with the error.
const MAX_FAILURES: u32 = 20;
/// Blocks remembered for reorg detection while searching.
const SCANNED_KEPT: usize = 200;

enum Target {
    Tx,
    Outpoint(OutPoint),
    Script(ScriptBuf),
}

#[derive(PartialEq)]
enum Seen {
    Nothing,
    Mempool,
    Confirmed { hash: String, confs: u64 },
}

struct Found {
    txid: String,
    index: u32,
}

struct Watcher<N> {
    api: BitcoinApi<N>,
    target: Target,
    depth: u64,
    found: Option<Found>,
    seen: Seen,
    next_height: u64,
    scanned: VecDeque<(u64, String)>,
    out: mpsc::Sender<std::result::Result<pb::WatchEvent, Status>>,
}

/// Handles `Watch`: validates, sends STARTED, then runs a poll task.
pub async fn start<N: BitcoinNode>(
    api: &BitcoinApi<N>,
    req: pb::WatchRequest,
) -> Result<WatchStream> {
    use pb::watch_request::Target as T;
    let depth = match req.confirmations {
        0 => 1,
        d if d <= 10_000 => u64::from(d),
        d => return Err(Error::invalid(format!("confirmations {d} above 10000"))),
    };
    let (target, found) = match req.target {
        Some(T::Txid(t)) => {
            let txid = parse::txid(&t)?.to_string();
            (Target::Tx, Some(Found { txid, index: 0 }))
        }
        Some(T::Outpoint(op)) => {
            let txid = parse::txid(&op.txid)?;
            (
                Target::Outpoint(OutPoint {
                    txid,
                    vout: op.vout,
                }),
                None,
            )
        }
        Some(T::ScriptPubkey(s)) => (Target::Script(parse::script(&s)?), None),
        None => {
            return Err(Error::invalid(
                "target (txid, outpoint or script_pubkey) is required",
            ))
        }
    };
    let tip = api.node.tip().await?;
    let (out, rx) = mpsc::channel(64);
    let mut w = Watcher {
        api: api.clone(),
        target,
        depth,
        found,
        seen: Seen::Nothing,
        next_height: tip.height + 1,
        scanned: VecDeque::new(),
        out,
    };
    w.init(tip.height).await?;
    w.emit(pb::WatchEventKind::Started, tip.height).await;
    tokio::spawn(w.run());
    Ok(ReceiverStream::new(rx))
}

impl<N: BitcoinNode> Watcher<N> {
    /// Finds what already happened before the watch started.
    async fn init(&mut self, tip: u64) -> Result<()> {
        match &self.target {
            Target::Tx => {}
            Target::Outpoint(op) => {
                let unspent = self
                    .api
                    .node
                    .call("gettxout", json!([op.txid.to_string(), op.vout, true]))
                    .await?;
                if unspent.is_null() {
                    // Already spent (or never existed): scan from the block
                    // that created it, when it is confirmed.
                    if let (TxLocation::Confirmed { height, .. }, _) =
                        self.api.node.locate(&op.txid.to_string(), tip).await?
                    {
                        self.next_height = height;
                    }
                }
            }
            Target::Script(script) => {
                let (utxos, _) = utxo::scan(&self.api, script).await?;
                if let Some(u) = utxos.into_iter().next().and_then(|u| u.outpoint) {
                    self.found = Some(Found {
                        txid: u.txid,
                        index: u.vout,
                    });
                }
            }
        }
        Ok(())
    }

    async fn run(mut self) {
        let mut failures = 0;
        loop {
            match self.step().await {
                Ok(true) => return,
                Ok(false) => failures = 0,
                Err(e @ (Error::Unavailable(_) | Error::Timeout(_))) if failures < MAX_FAILURES => {
                    tracing::debug!("watch poll failed: {e}");
                    failures += 1;
                }
                Err(e) => {
                    let _ = self.out.send(Err(e.into())).await;
                    return;
                }
            }
            if self.out.is_closed() {
                return;
            }
            tokio::time::sleep(self.api.poll).await;
        }
    }

    /// One poll; `Ok(true)` when the stream is finished.
    async fn step(&mut self) -> Result<bool> {
        let tip = self.api.node.tip().await?.height;
        if self.found.is_none() {
            self.search(tip).await?;
        }
        if self.found.is_some() {
            return self.track(tip).await;
        }
        Ok(self.out.is_closed())
    }

    /// Re-locates the relevant transaction and reports changes.
    async fn track(&mut self, tip: u64) -> Result<bool> {
        use pb::WatchEventKind as K;
        let Some(f) = &self.found else {
            return Ok(false);
        };
        let (loc, _) = self.api.node.locate(&f.txid, tip).await?;
        match loc {
            TxLocation::Unknown => {
                if self.seen != Seen::Nothing {
                    self.emit(K::Dropped, tip).await;
                    self.seen = Seen::Nothing;
                    if !matches!(self.target, Target::Tx) {
                        self.found = None;
                    }
                }
            }
            TxLocation::Mempool => {
                match self.seen {
                    Seen::Confirmed { .. } => self.emit(K::Reorged, tip).await,
                    Seen::Nothing => self.emit(K::Mempool, tip).await,
                    Seen::Mempool => {}
                }
                self.seen = Seen::Mempool;
            }
            TxLocation::Confirmed {
                block_hash,
                height,
                confirmations,
            } => {
                if let Seen::Confirmed { hash, .. } = &self.seen {
                    if *hash != block_hash {
                        self.emit(K::Reorged, tip).await;
                    }
                }
                let now = Seen::Confirmed {
                    hash: block_hash.clone(),
                    confs: confirmations,
                };
                if self.seen != now {
                    let ev = self.event(K::Confirmed, tip, &block_hash, height, confirmations);
                    self.send(ev).await;
                    self.seen = now;
                }
                if confirmations >= self.depth {
                    let ev = self.event(K::Final, tip, &block_hash, height, confirmations);
                    self.send(ev).await;
                    return Ok(true);
                }
            }
        }
        Ok(self.out.is_closed())
    }

    /// Looks for the spend / payment in new blocks (then the mempool).
    async fn search(&mut self, tip: u64) -> Result<()> {
        // Undo blocks a reorg replaced.
        while let Some((h, hash)) = self.scanned.back().cloned() {
            if self.api.node.block_hash(h).await?.as_deref() == Some(hash.as_str()) {
                break;
            }
            self.scanned.pop_back();
            self.next_height = h;
        }
        while self.next_height <= tip {
            let h = self.next_height;
            let Some(hash) = self.api.node.block_hash(h).await? else {
                break;
            };
            let block = self.api.node.call("getblock", json!([hash, 2])).await?;
            self.scanned.push_back((h, hash));
            if self.scanned.len() > SCANNED_KEPT {
                self.scanned.pop_front();
            }
            self.next_height = h + 1;
            let txs = block
                .get("tx")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(f) = txs.iter().find_map(|tx| self.matches(tx)) {
                self.found = Some(f);
                return Ok(());
            }
        }
        if let Target::Outpoint(op) = &self.target {
            let v = self
                .api
                .node
                .call(
                    "gettxspendingprevout",
                    json!([[{"txid": op.txid.to_string(), "vout": op.vout}]]),
                )
                .await?;
            if let Some(spender) = v
                .get(0)
                .and_then(|e| e.get("spendingtxid"))
                .and_then(Value::as_str)
            {
                if let Some(tx) = self.api.node.raw_transaction_verbose(spender).await? {
                    self.found = self.matches(&tx);
                }
            }
        }
        Ok(())
    }

    /// Whether a verbose transaction is the one searched for.
    fn matches(&self, tx: &Value) -> Option<Found> {
        let txid = tx.get("txid")?.as_str()?.to_string();
        match &self.target {
            Target::Tx => None,
            Target::Outpoint(op) => {
                let want = op.txid.to_string();
                let vin = tx.get("vin")?.as_array()?;
                vin.iter()
                    .position(|i| {
                        i.get("txid").and_then(Value::as_str) == Some(want.as_str())
                            && i.get("vout").and_then(Value::as_u64) == Some(u64::from(op.vout))
                    })
                    .map(|index| Found {
                        txid,
                        index: index as u32,
                    })
            }
            Target::Script(script) => {
                let want = hex::encode(script.as_bytes());
                let vout = tx.get("vout")?.as_array()?;
                vout.iter()
                    .position(|o| {
                        o.get("scriptPubKey")
                            .and_then(|s| s.get("hex"))
                            .and_then(Value::as_str)
                            == Some(want.as_str())
                    })
                    .map(|index| Found {
                        txid,
                        index: index as u32,
                    })
            }
        }
    }

    fn event(
        &self,
        kind: pb::WatchEventKind,
        tip: u64,
        hash: &str,
        height: u64,
        confs: u64,
    ) -> pb::WatchEvent {
        let (txid, index) = self
            .found
            .as_ref()
            .map(|f| (f.txid.clone(), f.index))
            .unwrap_or_default();
        let mut ev = pb::WatchEvent {
            txid,
            index,
            confirmations: confs,
            block_hash: hash.to_string(),
            block_height: height,
            tip_height: tip,
            ..Default::default()
        };
        ev.set_kind(kind);
        ev
    }

    async fn emit(&self, kind: pb::WatchEventKind, tip: u64) {
        let mut ev = self.event(kind, tip, "", 0, 0);
        if kind == pb::WatchEventKind::Started {
            ev.txid.clear();
        }
        self.send(ev).await;
    }

    async fn send(&self, ev: pb::WatchEvent) {
        tracing::debug!(kind = ?ev.kind(), txid = %ev.txid, confs = ev.confirmations, "watch event");
        // A closed stream is noticed by the poll loop.
        let _ = self.out.send(Ok(ev)).await;
    }
}
