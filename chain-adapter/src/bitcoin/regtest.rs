//! Regtest-only helpers and their gate: refused (FAILED_PRECONDITION) unless
//! the adapter is configured for regtest AND the node itself reports regtest,
//! so a misconfigured adapter can never mine or spend on a real network.

use bapay_proto::chain::v1 as pb;
use bitcoin::Network;
use serde_json::json;

use super::{parse, BitcoinApi, BitcoinNode, BitcoinNodeExt};
use crate::error::{Error, Result};

/// Fails unless both the configuration and the node say regtest.
pub async fn ensure_regtest<N: BitcoinNode>(api: &BitcoinApi<N>, what: &str) -> Result<()> {
    if api.network != Network::Regtest {
        return Err(Error::FailedPrecondition(format!(
            "{what} is regtest-only; the adapter is configured for {}",
            api.network.to_core_arg()
        )));
    }
    let tip = api.node.tip().await?;
    if tip.chain != "regtest" {
        return Err(Error::FailedPrecondition(format!(
            "{what} is regtest-only; the node reports chain `{}`",
            tip.chain
        )));
    }
    Ok(())
}

/// Handles `MineBlocks`.
pub async fn mine_blocks<N: BitcoinNode>(
    api: &BitcoinApi<N>,
    req: pb::MineBlocksRequest,
) -> Result<pb::MineBlocksResponse> {
    if !(1..=1000).contains(&req.count) {
        return Err(Error::invalid(format!(
            "count {} not in 1..=1000",
            req.count
        )));
    }
    let address = if req.address.is_empty() {
        api.faucet.address().clone()
    } else {
        parse::address(&req.address, Network::Regtest)?
    };
    ensure_regtest(api, "MineBlocks").await?;
    let block_hashes = mine(api, req.count, &address.to_string()).await?;
    let tip = api.node.tip().await?;
    Ok(pb::MineBlocksResponse {
        block_hashes,
        tip_height: tip.height,
    })
}

/// `generatetoaddress` (callers check the gate).
pub async fn mine<N: BitcoinNode>(
    api: &BitcoinApi<N>,
    count: u32,
    address: &str,
) -> Result<Vec<String>> {
    let v = api
        .node
        .call("generatetoaddress", json!([count, address]))
        .await?;
    serde_json::from_value(v).map_err(|e| super::node::bad("generatetoaddress", &e.to_string()))
}
