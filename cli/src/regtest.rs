//! Local-chain conveniences through the chain-adapter's dev-only RPCs
//! (MineBlocks, FaucetPay, SetBalance, IncreaseTime; the admin
//! certificate): fund a daemon, deploy
//! FairPay on anvil, and mine blocks / move anvil's clock in the background
//! so a demo job moves without a miner.

use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, TxKind, U256};
use anyhow::{Context, Result};
use bapay_proto::chain::v1 as chain;
use bapay_proto::chain::v1::bitcoin_service_client::BitcoinServiceClient;
use bapay_proto::chain::v1::ethereum_service_client::EthereumServiceClient;

/// Pays `sat` to the P2TR key-path output of `xonly` (32 bytes) and
/// confirms it; matures the faucet first if the chain is young.
pub async fn fund(adapter: &str, xonly: &[u8], sat: u64) -> Result<String> {
    let mut btc =
        BitcoinServiceClient::new(crate::channel_as(bapay_daemon::tls::Role::Admin, adapter)?);
    let tip = btc
        .get_tip(chain::GetTipRequest {})
        .await?
        .into_inner()
        .height;
    if tip < 110 {
        btc.mine_blocks(chain::MineBlocksRequest {
            count: (110 - tip) as u32,
            address: String::new(),
        })
        .await
        .context("maturing the regtest faucet")?;
    }
    let key = bitcoin::XOnlyPublicKey::from_slice(xonly).context("not a 32-byte x-only key")?;
    let secp = bitcoin::secp256k1::Secp256k1::verification_only();
    let script = bitcoin::ScriptBuf::new_p2tr(&secp, key, None);
    // The daemons use the key-path output of the bare key (no tweak from a
    // script tree, BIP-86 style): that is what p2tr(key, None) builds.
    let r = btc
        .faucet_pay(chain::FaucetPayRequest {
            address: String::new(),
            script_pubkey: script.to_bytes(),
            amount_sat: sat,
            confirm: true,
        })
        .await?
        .into_inner();
    Ok(r.txid)
}

/// Every `every`, until the returned handle is aborted: mines one regtest
/// block and moves anvil's clock by `anvil_seconds` (a chain the adapter
/// does not serve, or a non-dev network, just refuses).
pub fn spawn_miner(
    adapter: &str,
    every: Duration,
    anvil_seconds: u64,
) -> Result<tokio::task::JoinHandle<()>> {
    let mut btc =
        BitcoinServiceClient::new(crate::channel_as(bapay_daemon::tls::Role::Admin, adapter)?);
    let mut eth =
        EthereumServiceClient::new(crate::channel_as(bapay_daemon::tls::Role::Admin, adapter)?);
    Ok(tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let _ = btc
                .mine_blocks(chain::MineBlocksRequest {
                    count: 1,
                    address: String::new(),
                })
                .await;
            if anvil_seconds > 0 {
                let _ = eth
                    .increase_time(chain::IncreaseTimeRequest {
                        seconds: anvil_seconds,
                    })
                    .await;
            }
        }
    }))
}

/// Sets `who`'s balance (anvil only).
pub async fn set_balance(adapter: &str, who: &[u8], wei: u128) -> Result<()> {
    EthereumServiceClient::new(crate::channel_as(bapay_daemon::tls::Role::Admin, adapter)?)
        .set_balance(chain::SetBalanceRequest {
            address: who.to_vec(),
            balance_wei: wei.to_string(),
        })
        .await?;
    Ok(())
}

/// Deploys FairPay from the committed artifact through the chain-adapter:
/// a creation transaction signed by a throwaway key that anvil's
/// SetBalance funds. Returns (chain id, address).
pub async fn deploy_fairpay(adapter: &str) -> Result<(u64, Address)> {
    let key = bapay_daemon::SecretKey::generate();
    let signer = key.eth_signer();
    set_balance(adapter, key.eth_address().as_slice(), 10u128.pow(20)).await?;
    let (chain_id, _) = {
        let r =
            EthereumServiceClient::new(crate::channel_as(bapay_daemon::tls::Role::Admin, adapter)?)
                .get_chain_info(chain::GetChainInfoRequest {})
                .await?
                .into_inner();
        (r.chain_id, r.block_timestamp)
    };
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
    let r = EthereumServiceClient::new(crate::channel_as(bapay_daemon::tls::Role::Admin, adapter)?)
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
