//! Unit tests of the Bitcoin handlers on a fake node: the regtest gate,
//! rejection reasons, input validation.

use bapay_proto::chain::v1 as pb;
use tonic::Code;

use super::fake::FakeNode;
use super::{broadcast, fee, package, regtest, BitcoinApi};
use crate::config::BitcoinConfig;
use crate::error::Error;

fn api(node: FakeNode, network: &str) -> BitcoinApi<FakeNode> {
    let cfg = BitcoinConfig {
        network: network.into(),
        ..Default::default()
    };
    BitcoinApi::new(node, &cfg).expect("valid config")
}

fn tx_bytes() -> Vec<u8> {
    use bitcoin::absolute::LockTime;
    use bitcoin::transaction::Version;
    use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
    bitcoin::consensus::encode::serialize(&Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(1),
            script_pubkey: ScriptBuf::new(),
        }],
    })
}

#[tokio::test]
async fn mining_refused_when_node_is_not_regtest() {
    // Configured regtest, but the node says mainnet: refused, nothing mined.
    let a = api(FakeNode::on_chain("main"), "regtest");
    let e = regtest::mine_blocks(
        &a,
        pb::MineBlocksRequest {
            count: 1,
            address: String::new(),
        },
    )
    .await
    .expect_err("refused");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.to_string().contains("node reports chain `main`"), "{e}");
    assert!(!a.node.called().contains(&"generatetoaddress".to_string()));
}

#[tokio::test]
async fn mining_refused_when_configured_for_signet() {
    let a = api(FakeNode::on_chain("regtest"), "signet");
    let e = regtest::mine_blocks(
        &a,
        pb::MineBlocksRequest {
            count: 1,
            address: String::new(),
        },
    )
    .await
    .expect_err("refused");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(
        a.node.called().is_empty(),
        "the gate refuses before any node call"
    );
}

#[tokio::test]
async fn rejection_reason_is_failed_precondition() {
    let node = FakeNode::on_chain("regtest").fail("sendrawtransaction", -26, "non-final");
    let a = api(node, "regtest");
    let e = broadcast::broadcast(&a, pb::BroadcastTransactionRequest { raw_tx: tx_bytes() })
        .await
        .expect_err("rejected");
    let status: tonic::Status = e.into();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().starts_with("non-final"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn node_down_is_unavailable() {
    let a = api(FakeNode::default(), "regtest");
    let e = super::tip::get_tip(&a).await.expect_err("down");
    assert_eq!(tonic::Status::from(e).code(), Code::Unavailable);
}

#[test]
fn malformed_inputs_are_invalid_argument() {
    assert_eq!(
        super::parse::txid("abc").map(|_| ()).unwrap_err().code(),
        Code::InvalidArgument
    );
    assert_eq!(
        super::parse::raw_tx(&[0xff; 3])
            .map(|_| ())
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    assert_eq!(
        super::parse::raw_tx(&[]).map(|_| ()).unwrap_err().code(),
        Code::InvalidArgument
    );
    assert!(matches!(
        super::parse::network("moon"),
        Err(Error::Config(_))
    ));
    let mainnet_addr = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";
    let e = super::parse::address(mainnet_addr, bitcoin::Network::Regtest)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_package_needs_two_to_25_decodable_transactions() {
    let a = api(FakeNode::on_chain("regtest"), "regtest");
    for (raw_txs, why) in [
        (vec![], "2..=25"),
        (vec![tx_bytes()], "2..=25"),
        (vec![tx_bytes(); 26], "2..=25"),
        (vec![tx_bytes(), vec![1, 2]], "raw_txs[1]"),
    ] {
        let e = package::submit(&a, pb::SubmitPackageRequest { raw_txs })
            .await
            .expect_err("refused before the node");
        let s = tonic::Status::from(e);
        assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
        assert!(s.message().contains(why), "{s:?}");
    }
    assert!(!a.node.called().contains(&"submitpackage".to_string()));
}

#[tokio::test]
async fn a_refused_package_names_each_refused_transaction() {
    let node = FakeNode::on_chain("regtest").reply(
        "submitpackage",
        serde_json::json!({"package_msg": "transaction failed",
            "tx-results": {"w": {"txid": "ab", "error": "min relay fee not met"}}}),
    );
    let a = api(node, "regtest");
    let e = package::submit(
        &a,
        pb::SubmitPackageRequest {
            raw_txs: vec![tx_bytes(); 2],
        },
    )
    .await
    .expect_err("refused");
    let s = tonic::Status::from(e);
    assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
    assert!(s.message().contains("ab: min relay fee not met"), "{s:?}");

    let node = FakeNode::on_chain("regtest").reply(
        "submitpackage",
        serde_json::json!({"package_msg": "success"}),
    );
    let ok = package::submit(
        &api(node, "regtest"),
        pb::SubmitPackageRequest {
            raw_txs: vec![tx_bytes(); 2],
        },
    )
    .await
    .expect("accepted");
    assert_eq!(ok.txids.len(), 2);
}

#[tokio::test]
async fn the_fee_estimate_is_never_below_the_mempool_minimum() {
    // Fallback 1 sat/vB on regtest, but the mempool now wants 25.
    let node = FakeNode::on_chain("regtest")
        .reply(
            "estimatesmartfee",
            serde_json::json!({"errors": ["no data"]}),
        )
        .reply(
            "getmempoolinfo",
            serde_json::json!({"mempoolminfee": 0.00025}),
        );
    let r = fee::estimate(
        &api(node, "regtest"),
        pb::EstimateFeeRequest { conf_target: 0 },
    )
    .await
    .expect("estimate");
    assert!(r.fallback);
    assert!((r.sat_per_vbyte - 25.0).abs() < 1e-9, "{r:?}");
    assert!((r.mempool_min_sat_per_vbyte - 25.0).abs() < 1e-9, "{r:?}");
}
