//! GetTip: the node's best block and chain next to the configured network.

use bapay_proto::chain::v1 as pb;

use super::{BitcoinApi, BitcoinNode, BitcoinNodeExt};
use crate::error::Result;

/// Handles `GetTip`.
pub async fn get_tip<N: BitcoinNode>(api: &BitcoinApi<N>) -> Result<pb::GetTipResponse> {
    let tip = api.node.tip().await?;
    Ok(pb::GetTipResponse {
        height: tip.height,
        block_hash: tip.hash,
        node_chain: tip.chain,
        configured_network: api.network.to_core_arg().to_string(),
    })
}
