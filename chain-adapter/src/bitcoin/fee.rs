//! EstimateFee: bitcoind's `estimatesmartfee`, with a configured fallback on
//! regtest where there is no fee history.

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
    // feerate is BTC per kvB.
    if let Some(rate) = v.get("feerate").and_then(Value::as_f64) {
        return Ok(pb::EstimateFeeResponse {
            sat_per_vbyte: rate * 1e8 / 1000.0,
            fallback: false,
        });
    }
    if api.network == Network::Regtest {
        return Ok(pb::EstimateFeeResponse {
            sat_per_vbyte: api.fallback_fee,
            fallback: true,
        });
    }
    Err(Error::FailedPrecondition(format!(
        "bitcoind has no fee estimate for {target} blocks: {}",
        v.get("errors").map(Value::to_string).unwrap_or_default()
    )))
}
