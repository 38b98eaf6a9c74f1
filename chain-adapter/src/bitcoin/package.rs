//! SubmitPackage: relay parents with a child that pays for them (CPFP).
//!
//! A presigned transaction (Charge_i, Charge'_i, Redeem_i) has its fee fixed
//! when it was signed. If the mempool minimum has risen since, bitcoind
//! refuses it alone ("min relay fee not met", "mempool min fee not met");
//! its receiver spends its own output in a child paying for both, and the
//! two go in together through bitcoind's `submitpackage`, which judges the
//! package's fee rate, not the parent's.

use bapay_proto::chain::v1 as pb;
use bitcoin::consensus::encode::serialize_hex;
use serde_json::{json, Value};

use super::{parse, BitcoinApi, BitcoinNode};
use crate::error::{Error, Result};

/// bitcoind's package limit (MAX_PACKAGE_COUNT).
pub const MAX_PACKAGE_TXS: usize = 25;

/// Handles `SubmitPackage`.
pub async fn submit<N: BitcoinNode>(
    api: &BitcoinApi<N>,
    req: pb::SubmitPackageRequest,
) -> Result<pb::SubmitPackageResponse> {
    if !(2..=MAX_PACKAGE_TXS).contains(&req.raw_txs.len()) {
        return Err(Error::invalid(format!(
            "raw_txs has {} transactions; a package is 2..={MAX_PACKAGE_TXS} (parents, then the child)",
            req.raw_txs.len()
        )));
    }
    let mut txs = Vec::with_capacity(req.raw_txs.len());
    for (i, raw) in req.raw_txs.iter().enumerate() {
        let tx = parse::raw_tx(raw).map_err(|e| Error::invalid(format!("raw_txs[{i}]: {e}")))?;
        txs.push(tx);
    }
    let hexes: Vec<String> = txs.iter().map(serialize_hex).collect();
    // maxfeerate 0: the roles set their own fees (as BroadcastTransaction).
    let v = api.node.call("submitpackage", json!([hexes, 0])).await?;
    let msg = v.get("package_msg").and_then(Value::as_str).unwrap_or("");
    if msg != "success" {
        return Err(Error::FailedPrecondition(format!(
            "package refused: {msg}{}",
            tx_errors(&v)
        )));
    }
    let txids: Vec<String> = txs.iter().map(|t| t.compute_txid().to_string()).collect();
    tracing::info!(txids = ?txids, "package submitted");
    Ok(pb::SubmitPackageResponse { txids })
}

/// "; <txid>: <error>" for every transaction bitcoind refused.
fn tx_errors(v: &Value) -> String {
    let Some(results) = v.get("tx-results").and_then(Value::as_object) else {
        return String::new();
    };
    results
        .values()
        .filter_map(|r| {
            let err = r.get("error").and_then(Value::as_str)?;
            let txid = r.get("txid").and_then(Value::as_str).unwrap_or("?");
            Some(format!("; {txid}: {err}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_transactions_are_named() {
        let v = json!({
            "package_msg": "transaction failed",
            "tx-results": {
                "w1": {"txid": "aa", "error": "min relay fee not met"},
                "w2": {"txid": "bb", "vsize": 100}
            }
        });
        assert_eq!(tx_errors(&v), "; aa: min relay fee not met");
        assert_eq!(tx_errors(&json!({})), "");
    }
}
