//! Ethereum side of the network, all through the chain-adapter: deploys
//! FairPay (`bapay_cli::regtest::deploy_fairpay`), funds daemon addresses,
//! reads balances and moves anvil's clock.

use alloy::primitives::Address;
use anyhow::Result;
use bapay_proto::chain::v1 as chain;
use bapay_proto::chain::v1::ethereum_service_client::EthereumServiceClient;
use tonic::transport::Channel;

/// A client of the adapter's Ethereum service.
pub fn client(adapter: &str) -> Result<EthereumServiceClient<Channel>> {
    Ok(EthereumServiceClient::new(bapay_cli::channel_as(
        bapay_daemon::tls::Role::Admin,
        adapter,
    )?))
}

/// Sets `who`'s balance (anvil only).
pub async fn set_balance(adapter: &str, who: &[u8], wei: u128) -> Result<()> {
    client(adapter)?
        .set_balance(chain::SetBalanceRequest {
            address: who.to_vec(),
            balance_wei: wei.to_string(),
        })
        .await?;
    Ok(())
}

/// Balance of `who`, wei.
pub async fn balance(adapter: &str, who: &[u8]) -> Result<u128> {
    let r = client(adapter)?
        .get_account(chain::GetAccountRequest {
            address: who.to_vec(),
        })
        .await?
        .into_inner();
    Ok(r.balance_wei.parse()?)
}

/// (chain id, latest block time).
pub async fn info(adapter: &str) -> Result<(u64, u64)> {
    let r = client(adapter)?
        .get_chain_info(chain::GetChainInfoRequest {})
        .await?
        .into_inner();
    Ok((r.chain_id, r.block_timestamp))
}

/// Moves block time forward and mines a block.
pub async fn increase_time(adapter: &str, seconds: u64) -> Result<()> {
    client(adapter)?
        .increase_time(chain::IncreaseTimeRequest { seconds })
        .await?;
    Ok(())
}

/// Deploys FairPay; returns (chain id, address).
pub async fn deploy_fairpay(adapter: &str) -> Result<(u64, Address)> {
    bapay_cli::regtest::deploy_fairpay(adapter).await
}
