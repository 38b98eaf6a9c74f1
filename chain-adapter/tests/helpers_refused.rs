//! The regtest/anvil-only helpers are refused (FAILED_PRECONDITION) when the
//! adapter is configured for another network, even though the nodes behind
//! it are regtest bitcoind and anvil: the refusal comes from the adapter's
//! gate (configuration AND node must agree), not from the node.

mod common;

use bapay_proto::chain::v1 as pb;
use common::{Env, TestKey};
use tonic::Code;

#[tokio::test(flavor = "multi_thread")]
async fn dev_helpers_refused_on_other_networks() -> anyhow::Result<()> {
    let env = Env::start_with(&[
        "--bitcoin-network",
        "signet",
        "--ethereum-network",
        "sepolia",
    ])
    .await?;
    let mut btc = env.btc().await?;
    let mut eth = env.eth().await?;

    // Reads still work and show the mismatch.
    let tip = btc.get_tip(pb::GetTipRequest {}).await?.into_inner();
    assert_eq!(tip.node_chain, "regtest");
    assert_eq!(tip.configured_network, "signet");
    let before = tip.height;

    let e = btc
        .mine_blocks(pb::MineBlocksRequest {
            count: 1,
            address: String::new(),
        })
        .await
        .expect_err("mine");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e}");
    assert!(e.message().contains("regtest-only"), "{e}");
    let e = btc
        .faucet_pay(pb::FaucetPayRequest {
            address: TestKey::new().address.to_string(),
            amount_sat: 1000,
            ..Default::default()
        })
        .await
        .expect_err("faucet");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e}");
    let after = btc.get_tip(pb::GetTipRequest {}).await?.into_inner();
    assert_eq!(after.height, before, "nothing was mined");

    // The fee fallback is regtest-only too.
    let e = btc
        .estimate_fee(pb::EstimateFeeRequest { conf_target: 2 })
        .await
        .expect_err("no estimate");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e}");

    let info = eth
        .get_chain_info(pb::GetChainInfoRequest {})
        .await?
        .into_inner();
    assert_eq!(info.configured_network, "sepolia");
    let e = eth
        .mine(pb::MineRequest { blocks: 1 })
        .await
        .expect_err("mine");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e}");
    assert!(e.message().contains("anvil-only"), "{e}");
    let e = eth
        .increase_time(pb::IncreaseTimeRequest { seconds: 60 })
        .await
        .expect_err("time");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e}");
    let e = eth
        .set_balance(pb::SetBalanceRequest {
            address: vec![7; 20],
            balance_wei: "1".into(),
        })
        .await
        .expect_err("balance");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e}");
    let info2 = eth
        .get_chain_info(pb::GetChainInfoRequest {})
        .await?
        .into_inner();
    assert_eq!(info2.block_number, info.block_number, "nothing was mined");
    Ok(())
}
