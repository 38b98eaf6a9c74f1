//! Anvil-only helpers (time travel, mining, balances) and their gate:
//! refused (FAILED_PRECONDITION) unless the adapter is configured for anvil
//! AND the node's client version says anvil, so they can never be aimed at a
//! real network.

use bapay_proto::chain::v1 as pb;
use serde_json::json;

use super::{convert, EthNetwork, EthereumApi, EthereumNode};
use crate::error::{Error, Result};

/// Fails unless both the configuration and the node say anvil.
pub async fn ensure_anvil<E: EthereumNode>(api: &EthereumApi<E>, what: &str) -> Result<()> {
    if api.network != EthNetwork::Anvil {
        return Err(Error::FailedPrecondition(format!(
            "{what} is anvil-only; the adapter is configured for {}",
            api.network.name()
        )));
    }
    let version = api.node.client_version().await?;
    if !version.to_ascii_lowercase().starts_with("anvil") {
        return Err(Error::FailedPrecondition(format!(
            "{what} is anvil-only; the node is `{version}`"
        )));
    }
    Ok(())
}

/// Handles `IncreaseTime`.
pub async fn increase_time<E: EthereumNode>(
    api: &EthereumApi<E>,
    req: pb::IncreaseTimeRequest,
) -> Result<pb::IncreaseTimeResponse> {
    if req.seconds > 100 * 365 * 86_400 {
        return Err(Error::invalid("seconds above 100 years"));
    }
    ensure_anvil(api, "IncreaseTime").await?;
    api.node
        .raw("evm_increaseTime", json!([req.seconds]))
        .await?;
    api.node.raw("evm_mine", json!([])).await?;
    let (block_number, block_timestamp) = api.node.latest_block().await?;
    Ok(pb::IncreaseTimeResponse {
        block_number,
        block_timestamp,
    })
}

/// Handles `Mine`.
pub async fn mine<E: EthereumNode>(
    api: &EthereumApi<E>,
    req: pb::MineRequest,
) -> Result<pb::MineResponse> {
    if !(1..=1000).contains(&req.blocks) {
        return Err(Error::invalid(format!(
            "blocks {} not in 1..=1000",
            req.blocks
        )));
    }
    ensure_anvil(api, "Mine").await?;
    api.node
        .raw("anvil_mine", json!([format!("0x{:x}", req.blocks)]))
        .await?;
    let (block_number, _) = api.node.latest_block().await?;
    Ok(pb::MineResponse { block_number })
}

/// Handles `SetBalance`.
pub async fn set_balance<E: EthereumNode>(
    api: &EthereumApi<E>,
    req: pb::SetBalanceRequest,
) -> Result<pb::SetBalanceResponse> {
    let address = convert::address("address", &req.address)?;
    let balance = convert::wei("balance_wei", &req.balance_wei)?;
    ensure_anvil(api, "SetBalance").await?;
    api.node
        .raw(
            "anvil_setBalance",
            json!([address.to_string(), format!("0x{balance:x}")]),
        )
        .await?;
    Ok(pb::SetBalanceResponse {})
}
