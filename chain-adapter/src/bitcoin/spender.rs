//! GetSpender: who spent an outpoint. bitcoind keeps no spent index, so a
//! daemon that sees an escrow output gone (a trap sweep, a conversion, a
//! Charge_i) asks here once to learn which transaction took it and through
//! which leaf: the mempool first (`gettxspendingprevout`), then the blocks
//! from the one that created the outpoint to the tip.

use bapay_proto::chain::v1 as pb;
use serde_json::{json, Value};

use super::node::TxLocation;
use super::{parse, BitcoinApi, BitcoinNode, BitcoinNodeExt};
use crate::error::{Error, Result};

/// Handles `GetSpender`.
pub async fn get_spender<N: BitcoinNode>(
    api: &BitcoinApi<N>,
    req: pb::GetSpenderRequest,
) -> Result<pb::GetSpenderResponse> {
    let op = req
        .outpoint
        .ok_or_else(|| Error::invalid("outpoint is required"))?;
    let txid = parse::txid(&op.txid)?.to_string();
    let tip = api.node.tip().await?;
    let created = match api.node.locate(&txid, tip.height).await?.0 {
        TxLocation::Unknown => {
            return Err(Error::NotFound(format!(
                "transaction {txid} is neither in the mempool nor in the chain"
            )))
        }
        TxLocation::Mempool => None,
        TxLocation::Confirmed { height, .. } => Some(height),
    };
    let unspent = api
        .node
        .call("gettxout", json!([txid, op.vout, true]))
        .await?;
    if !unspent.is_null() {
        return Ok(pb::GetSpenderResponse::default());
    }
    let pending = api
        .node
        .call(
            "gettxspendingprevout",
            json!([[{"txid": txid, "vout": op.vout}]]),
        )
        .await?;
    if let Some(spender) = pending
        .get(0)
        .and_then(|e| e.get("spendingtxid"))
        .and_then(Value::as_str)
    {
        if let Some(tx) = api.node.raw_transaction_verbose(spender).await? {
            if let Some(r) = answer(&tx, &txid, op.vout, 0, 0) {
                return Ok(r);
            }
        }
    }
    let Some(from) = created else {
        return Ok(pb::GetSpenderResponse::default());
    };
    for h in from..=tip.height {
        let Some(hash) = api.node.block_hash(h).await? else {
            break;
        };
        let block = api.node.call("getblock", json!([hash, 2])).await?;
        let txs = block.get("tx").and_then(Value::as_array);
        for tx in txs.into_iter().flatten() {
            if let Some(r) = answer(tx, &txid, op.vout, h, tip.height + 1 - h) {
                return Ok(r);
            }
        }
    }
    // Spent, but by nothing the node still holds (a reorg in between).
    Ok(pb::GetSpenderResponse::default())
}

/// The answer if the verbose transaction `tx` spends `txid:vout`.
fn answer(
    tx: &Value,
    txid: &str,
    vout: u32,
    height: u64,
    confirmations: u64,
) -> Option<pb::GetSpenderResponse> {
    let index = tx.get("vin")?.as_array()?.iter().position(|i| {
        i.get("txid").and_then(Value::as_str) == Some(txid)
            && i.get("vout").and_then(Value::as_u64) == Some(u64::from(vout))
    })?;
    Some(pb::GetSpenderResponse {
        spent: true,
        txid: tx.get("txid")?.as_str()?.to_string(),
        input_index: index as u32,
        raw_tx: hex::decode(tx.get("hex")?.as_str()?).ok()?,
        confirmations,
        block_height: height,
    })
}
