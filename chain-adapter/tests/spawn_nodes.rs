//! `--spawn-nodes` (the local demo's default): the adapter starts its own
//! regtest bitcoind and anvil through the harness, funds its faucet, serves
//! both chains, and stops the nodes when it is stopped (SIGTERM).

mod common;

use std::process::Command;

use bapay_harness::ChildProcess;
use bapay_proto::chain::v1 as pb;
use common::{TestKey, WAIT};
use pb::bitcoin_service_client::BitcoinServiceClient;
use pb::ethereum_service_client::EthereumServiceClient;

#[tokio::test(flavor = "multi_thread")]
async fn spawn_nodes_serves_and_cleans_up() -> anyhow::Result<()> {
    let dir = bapay_harness::temp_dir("bapay-spawn-test-")?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chain-adapter"));
    cmd.args([
        "--spawn-nodes",
        "--listen",
        "127.0.0.1:0",
        "--insecure-plaintext",
    ])
    .env("RUST_LOG", "info");
    let mut adapter = ChildProcess::spawn("chain-adapter", cmd, dir.path())?;
    let addr = adapter.wait_for_log("listening on ", WAIT).await?;
    let url = format!("http://{addr}");

    let mut btc = BitcoinServiceClient::connect(url.clone()).await?;
    let tip = btc.get_tip(pb::GetTipRequest {}).await?.into_inner();
    assert_eq!(tip.node_chain, "regtest");
    assert!(tip.height >= 101, "faucet funded at startup: {tip:?}");
    let paid = btc
        .faucet_pay(pb::FaucetPayRequest {
            address: TestKey::new().address.to_string(),
            amount_sat: 10_000,
            confirm: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    let st = btc
        .get_transaction_status(pb::GetTransactionStatusRequest { txid: paid.txid })
        .await?
        .into_inner();
    assert_eq!(st.state(), pb::TxState::Confirmed);
    assert_eq!(
        st.block_height,
        tip.height + 1,
        "no extra premine on first faucet use"
    );

    let mut eth = EthereumServiceClient::connect(url).await?;
    let info = eth
        .get_chain_info(pb::GetChainInfoRequest {})
        .await?
        .into_inner();
    assert_eq!(info.chain_id, 31337);

    // The node URLs are in the adapter's log; after SIGTERM they are gone.
    let log = adapter.log();
    let bitcoind_url = field(&log, "bitcoind=").expect("bitcoind url logged");
    let anvil_url = field(&log, "anvil=").expect("anvil url logged");
    drop((btc, eth));
    adapter.terminate(std::time::Duration::from_secs(30));
    let client = reqwest::Client::new();
    assert!(
        client.post(&bitcoind_url).send().await.is_err(),
        "bitcoind stopped with the adapter"
    );
    assert!(
        client.post(&anvil_url).send().await.is_err(),
        "anvil stopped with the adapter"
    );
    Ok(())
}

/// The value after `key` in a `key=value` log field.
fn field(log: &str, key: &str) -> Option<String> {
    let start = log.find(key)? + key.len();
    let rest = &log[start..];
    Some(rest.split_whitespace().next()?.to_string())
}
