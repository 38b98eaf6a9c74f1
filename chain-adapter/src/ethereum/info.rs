//! GetChainInfo: chain id, latest block and time, client version.

use bapay_proto::chain::v1 as pb;

use super::{EthereumApi, EthereumNode};
use crate::error::Result;

/// Handles `GetChainInfo`.
pub async fn chain_info<E: EthereumNode>(api: &EthereumApi<E>) -> Result<pb::GetChainInfoResponse> {
    let chain_id = api.node.chain_id().await?;
    let (block_number, block_timestamp) = api.node.latest_block().await?;
    let client_version = api.node.client_version().await?;
    Ok(pb::GetChainInfoResponse {
        chain_id,
        block_number,
        block_timestamp,
        client_version,
        configured_network: api.network.name().to_string(),
    })
}
