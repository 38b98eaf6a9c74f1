//! ListUnspent: confirmed unspent outputs for a script via `scantxoutset`
//! (bitcoind needs no wallet). Scans are serialized: bitcoind runs one at a
//! time.

use bapay_proto::chain::v1 as pb;
use bitcoin::Script;
use serde_json::{json, Value};

use super::node::{bad, btc_to_sat, str_field, u64_field};
use super::{parse, BitcoinApi, BitcoinNode};
use crate::error::Result;

/// Handles `ListUnspent`.
pub async fn list_unspent<N: BitcoinNode>(
    api: &BitcoinApi<N>,
    req: pb::ListUnspentRequest,
) -> Result<pb::ListUnspentResponse> {
    let script = parse::script(&req.script_pubkey)?;
    let (utxos, tip_height) = scan(api, &script).await?;
    Ok(pb::ListUnspentResponse { utxos, tip_height })
}

/// All confirmed unspent outputs paying to `script`, and the scanned height.
pub async fn scan<N: BitcoinNode>(
    api: &BitcoinApi<N>,
    script: &Script,
) -> Result<(Vec<pb::Utxo>, u64)> {
    const M: &str = "scantxoutset";
    let desc = format!("raw({})", hex::encode(script.as_bytes()));
    let v = {
        let _guard = api.scan_lock.lock().await;
        api.node.call(M, json!(["start", [{"desc": desc}]])).await?
    };
    let height = u64_field(&v, "height", M)?;
    let list = v
        .get("unspents")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(M, "missing `unspents`"))?;
    let mut out = Vec::with_capacity(list.len());
    for u in list {
        let spk = str_field(u, "scriptPubKey", M)?;
        out.push(pb::Utxo {
            outpoint: Some(pb::OutPoint {
                txid: str_field(u, "txid", M)?,
                vout: u64_field(u, "vout", M)? as u32,
            }),
            value_sat: u
                .get("amount")
                .and_then(btc_to_sat)
                .ok_or_else(|| bad(M, "bad amount"))?,
            height: u64_field(u, "height", M)?,
            script_pubkey: hex::decode(spk).map_err(|_| bad(M, "bad scriptPubKey hex"))?,
            coinbase: u.get("coinbase").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    out.sort_by_key(|u| u.height);
    Ok((out, height))
}
