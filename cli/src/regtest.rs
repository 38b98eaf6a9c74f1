//! Local-chain conveniences through the chain-adapter's regtest-only RPCs
//! (MineBlocks, FaucetPay): fund a daemon's key, and mine blocks in the
//! background so a demo job moves without a miner.

use std::time::Duration;

use anyhow::{Context, Result};
use bapay_proto::chain::v1 as chain;
use bapay_proto::chain::v1::bitcoin_service_client::BitcoinServiceClient;

/// Pays `sat` to the P2TR key-path output of `xonly` (32 bytes) and
/// confirms it; matures the faucet first if the chain is young.
pub async fn fund(adapter: &str, xonly: &[u8], sat: u64) -> Result<String> {
    let mut btc = BitcoinServiceClient::new(crate::channel(adapter)?);
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

/// Mines one block every `every` until the returned handle is aborted.
pub fn spawn_miner(adapter: &str, every: Duration) -> Result<tokio::task::JoinHandle<()>> {
    let mut btc = BitcoinServiceClient::new(crate::channel(adapter)?);
    Ok(tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let _ = btc
                .mine_blocks(chain::MineBlocksRequest {
                    count: 1,
                    address: String::new(),
                })
                .await;
        }
    }))
}
