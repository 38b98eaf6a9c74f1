//! EstimateFee: bitcoind's `estimatesmartfee`, with a configured fallback on
//! regtest where there is no fee history; never below the mempool's
//! current minimum (`getmempoolinfo`), which a fee spike raises.

use bapay_proto::chain::v1 as pb;
use bitcoin::Network;
use serde_json::{json, Value};

use super::{BitcoinApi, BitcoinNode};
use crate::error::{Error, Result};

/// Handles `EstimateFee`.
pub async fn estimate<N: BitcoinNode>(
    api: &BitcoinApi<N>,
    req: pb::EstimateFeeRequest,
) -> Result<pb::EstimateFeeResponse> {
    let target = if req.conf_target == 0 {
        6
    } else {
        req.conf_target
    };
    if !(1..=1008).contains(&target) {
        return Err(Error::invalid(format!(
            "conf_target {target} not in 1..=1008"
        )));
    }
    let v = api.node.call("estimatesmartfee", json!([target])).await?;
    let pool = api.node.call("getmempoolinfo", json!([])).await?;
    // Rates are BTC per kvB.
    let floor = pool
        .get("mempoolminfee")
        .and_then(Value::as_f64)
        .map_or(0.0, per_vbyte);
    let answer = |rate: f64, fallback| pb::EstimateFeeResponse {
        sat_per_vbyte: rate.max(floor),
        fallback,
        mempool_min_sat_per_vbyte: floor,
    };
    if let Some(rate) = v.get("feerate").and_then(Value::as_f64) {
        return Ok(answer(per_vbyte(rate), false));
    }
    if api.network == Network::Regtest {
        return Ok(answer(api.fallback_fee, true));
    }
    Err(Error::FailedPrecondition(format!(
        "bitcoind has no fee estimate for {target} blocks: {}",
        v.get("errors").map(Value::to_string).unwrap_or_default()
    )))
}

/// BTC per kvB -> sat per vB.
fn per_vbyte(btc_per_kvb: f64) -> f64 {
    btc_per_kvb * 1e8 / 1000.0
}
