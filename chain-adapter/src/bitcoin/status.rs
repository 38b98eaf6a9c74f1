//! GetTransactionStatus: unknown, in the mempool, or confirmed with depth.

use bapay_proto::chain::v1 as pb;
use serde_json::Value;

use super::node::TxLocation;
use super::{parse, BitcoinApi, BitcoinNode, BitcoinNodeExt};
use crate::error::Result;

/// Handles `GetTransactionStatus`.
pub async fn get_status<N: BitcoinNode>(
    api: &BitcoinApi<N>,
    req: pb::GetTransactionStatusRequest,
) -> Result<pb::GetTransactionStatusResponse> {
    let txid = parse::txid(&req.txid)?.to_string();
    let tip = api.node.tip().await?;
    let (loc, v) = api.node.locate(&txid, tip.height).await?;
    let raw_tx = v
        .as_ref()
        .and_then(|v| v.get("hex"))
        .and_then(Value::as_str)
        .and_then(|h| hex::decode(h).ok())
        .unwrap_or_default();
    let mut resp = pb::GetTransactionStatusResponse {
        txid,
        raw_tx,
        ..Default::default()
    };
    match loc {
        TxLocation::Unknown => resp.set_state(pb::TxState::Unknown),
        TxLocation::Mempool => resp.set_state(pb::TxState::Mempool),
        TxLocation::Confirmed {
            block_hash,
            height,
            confirmations,
        } => {
            resp.set_state(pb::TxState::Confirmed);
            resp.block_hash = block_hash;
            resp.block_height = height;
            resp.confirmations = confirmations;
        }
    }
    Ok(resp)
}
