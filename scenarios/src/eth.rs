//! Ethereum side of the network, all through the chain-adapter: deploys
//! FairPay from the committed artifact (a creation transaction signed here
//! by a throwaway key the adapter funds with anvil's SetBalance), funds
//! daemon addresses, and moves anvil's clock.

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, TxKind, U256};
use anyhow::{Context, Result};
use bapay_proto::chain::v1 as chain;
use bapay_proto::chain::v1::ethereum_service_client::EthereumServiceClient;
use tonic::transport::Channel;

/// A client of the adapter's Ethereum service.
pub fn client(adapter: &str) -> Result<EthereumServiceClient<Channel>> {
    Ok(EthereumServiceClient::new(bapay_cli::channel(adapter)?))
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
    let key = bapay_daemon::SecretKey::generate();
    let signer = key.eth_signer();
    set_balance(adapter, key.eth_address().as_slice(), 10u128.pow(20)).await?;
    let (chain_id, _) = info(adapter).await?;
    let mut tx = TxEip1559 {
        chain_id,
        nonce: 0,
        gas_limit: 5_000_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Create,
        value: U256::ZERO,
        access_list: Default::default(),
        input: bapay_fairpay::FairPay::BYTECODE.clone(),
    };
    let sig = signer.sign_transaction_sync(&mut tx)?;
    let env = TxEnvelope::from(tx.into_signed(sig));
    let r = client(adapter)?
        .send_raw_transaction(chain::SendRawTransactionRequest {
            raw_tx: env.encoded_2718(),
            no_wait: false,
            wait_timeout_ms: 60_000,
        })
        .await?
        .into_inner();
    let receipt = r.receipt.context("no receipt")?;
    anyhow::ensure!(receipt.success, "FairPay deployment reverted");
    Ok((chain_id, Address::from_slice(&receipt.contract_address)))
}
