//! The Watch stream survives a reorg: `invalidateblock` on the block holding
//! the watched transaction is reported (REORGED), and the transaction is
//! reported CONFIRMED again once re-mined, then FINAL at the requested depth.

mod common;

use bapay_proto::chain::v1 as pb;
use common::{until_kind, Env, TestKey};
use pb::WatchEventKind as K;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn watch_reports_reorg_and_remine() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let mut btc = env.btc().await?;
    let dest = TestKey::new();
    let paid = btc
        .faucet_pay(pb::FaucetPayRequest {
            address: dest.address.to_string(),
            amount_sat: 100_000,
            ..Default::default()
        })
        .await?
        .into_inner();

    // Watch the payment's txid and, independently, the destination script.
    let mut by_txid = btc
        .watch(pb::WatchRequest {
            target: Some(pb::watch_request::Target::Txid(paid.txid.clone())),
            confirmations: 3,
        })
        .await?
        .into_inner();
    let mut by_script = btc
        .watch(pb::WatchRequest {
            target: Some(pb::watch_request::Target::ScriptPubkey(
                dest.address.script_pubkey().to_bytes(),
            )),
            confirmations: 3,
        })
        .await?
        .into_inner();
    until_kind(&mut by_txid, K::Started).await?;
    until_kind(&mut by_txid, K::Mempool).await?;

    let mined = btc
        .mine_blocks(pb::MineBlocksRequest {
            count: 1,
            address: String::new(),
        })
        .await?
        .into_inner();
    let first = until_kind(&mut by_txid, K::Confirmed).await?;
    assert_eq!(first.txid, paid.txid);
    assert_eq!(first.block_hash, mined.block_hashes[0]);
    let s = until_kind(&mut by_script, K::Confirmed).await?;
    assert_eq!(s.txid, paid.txid);

    // Reorg: the block leaves the active chain, the tx goes back to the mempool.
    env.bitcoind
        .rpc("invalidateblock", json!([first.block_hash]))
        .await?;
    let re = until_kind(&mut by_txid, K::Reorged).await?;
    assert_eq!(re.txid, paid.txid);
    until_kind(&mut by_script, K::Reorged).await?;

    // Re-mined on another branch (mine to a different address so the block differs).
    let other = TestKey::new();
    let remined = btc
        .mine_blocks(pb::MineBlocksRequest {
            count: 1,
            address: other.address.to_string(),
        })
        .await?
        .into_inner();
    let again = until_kind(&mut by_txid, K::Confirmed).await?;
    assert_eq!(again.txid, paid.txid);
    assert_eq!(again.block_hash, remined.block_hashes[0]);
    assert_ne!(again.block_hash, first.block_hash);
    until_kind(&mut by_script, K::Confirmed).await?;

    btc.mine_blocks(pb::MineBlocksRequest {
        count: 2,
        address: String::new(),
    })
    .await?;
    let fin = until_kind(&mut by_txid, K::Final).await?;
    assert!(fin.confirmations >= 3, "{fin:?}");
    assert_eq!(fin.block_hash, remined.block_hashes[0]);
    let fin = until_kind(&mut by_script, K::Final).await?;
    assert_eq!(fin.txid, paid.txid);

    let st = btc
        .get_transaction_status(pb::GetTransactionStatusRequest {
            txid: paid.txid.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(st.state(), pb::TxState::Confirmed);
    assert_eq!(st.block_hash, remined.block_hashes[0]);
    Ok(())
}
