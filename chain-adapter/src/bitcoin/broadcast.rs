//! BroadcastTransaction and TestMempoolAccept: relay a transaction a role
//! signed, or ask whether bitcoind would take it. A rejection carries
//! bitcoind's reason (e.g. "non-final") as FAILED_PRECONDITION.

use bapay_proto::chain::v1 as pb;
use bitcoin::consensus::encode::serialize_hex;
use serde_json::{json, Value};

use super::node::{btc_to_sat, str_field};
use super::{parse, BitcoinApi, BitcoinNode};
use crate::error::Result;

/// Handles `BroadcastTransaction`.
pub async fn broadcast<N: BitcoinNode>(
    api: &BitcoinApi<N>,
    req: pb::BroadcastTransactionRequest,
) -> Result<pb::BroadcastTransactionResponse> {
    let tx = parse::raw_tx(&req.raw_tx)?;
    // maxfeerate 0: the roles set their own fees (presigned transactions).
    let v = api
        .node
        .call("sendrawtransaction", json!([serialize_hex(&tx), 0]))
        .await?;
    let txid = v
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| tx.compute_txid().to_string());
    tracing::info!(%txid, "broadcast");
    Ok(pb::BroadcastTransactionResponse { txid })
}

/// Handles `TestMempoolAccept`.
pub async fn test_accept<N: BitcoinNode>(
    api: &BitcoinApi<N>,
    req: pb::TestMempoolAcceptRequest,
) -> Result<pb::TestMempoolAcceptResponse> {
    let tx = parse::raw_tx(&req.raw_tx)?;
    let v = api
        .node
        .call("testmempoolaccept", json!([[serialize_hex(&tx)], 0]))
        .await?;
    let first = v.get(0).cloned().unwrap_or(Value::Null);
    let allowed = first
        .get("allowed")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(pb::TestMempoolAcceptResponse {
        txid: str_field(&first, "txid", "testmempoolaccept")
            .unwrap_or_else(|_| tx.compute_txid().to_string()),
        allowed,
        reject_reason: first
            .get("reject-reason")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        vsize: first.get("vsize").and_then(Value::as_u64).unwrap_or(0),
        fee_sat: first
            .get("fees")
            .and_then(|f| f.get("base"))
            .and_then(btc_to_sat)
            .unwrap_or(0),
    })
}
