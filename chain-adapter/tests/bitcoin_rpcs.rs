//! The Bitcoin RPCs against real regtest bitcoind, through the adapter's
//! gRPC API: faucet, ListUnspent, a timelocked spend rejected as
//! "non-final" (TestMempoolAccept and BroadcastTransaction) then accepted at
//! its height, Watch on an outpoint until spent, EstimateFee's regtest
//! fallback, and INVALID_ARGUMENT on malformed input.

mod common;

use std::str::FromStr;

use bapay_proto::chain::v1 as pb;
use bitcoin::absolute::LockTime;
use bitcoin::consensus::encode::serialize;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};
use common::{until_kind, Env, TestKey};
use pb::WatchEventKind as K;
use tonic::Code;

#[tokio::test(flavor = "multi_thread")]
async fn timelocked_spend_is_non_final_until_its_height() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let mut btc = env.btc().await?;
    let key = TestKey::new();
    let paid = btc
        .faucet_pay(pb::FaucetPayRequest {
            address: key.address.to_string(),
            amount_sat: 50_000,
            confirm: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    let utxos = btc
        .list_unspent(pb::ListUnspentRequest {
            script_pubkey: key.address.script_pubkey().to_bytes(),
        })
        .await?
        .into_inner();
    assert_eq!(utxos.utxos.len(), 1, "{utxos:?}");
    let u = &utxos.utxos[0];
    assert_eq!(u.value_sat, 50_000);
    let op = u.outpoint.clone().expect("outpoint");
    assert_eq!(op.txid, paid.txid);

    // Spend with nLockTime = t = tip + 1: final in blocks above t, so the
    // mempool takes it once the tip is t.
    let tip = btc.get_tip(pb::GetTipRequest {}).await?.into_inner();
    let t = tip.height + 1;
    let prev = TxOut {
        value: Amount::from_sat(50_000),
        script_pubkey: key.address.script_pubkey(),
    };
    let mut tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::from_height(t as u32)?,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: Txid::from_str(&op.txid)?,
                vout: op.vout,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_LOCKTIME_NO_RBF,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(49_000),
            script_pubkey: TestKey::new().address.script_pubkey(),
        }],
    };
    key.sign(&mut tx, &[prev]);
    let raw = serialize(&tx);

    // Watch the outpoint until spent.
    let mut watch = btc
        .watch(pb::WatchRequest {
            target: Some(pb::watch_request::Target::Outpoint(op.clone())),
            confirmations: 1,
        })
        .await?
        .into_inner();
    until_kind(&mut watch, K::Started).await?;
    let spender = |op: pb::OutPoint| pb::GetSpenderRequest { outpoint: Some(op) };
    let none = btc.get_spender(spender(op.clone())).await?.into_inner();
    assert!(!none.spent && none.txid.is_empty(), "unspent: {none:?}");

    // Tip t-1: non-final.
    let test = btc
        .test_mempool_accept(pb::TestMempoolAcceptRequest {
            raw_tx: raw.clone(),
        })
        .await?
        .into_inner();
    assert!(!test.allowed);
    assert_eq!(test.reject_reason, "non-final");
    let err = btc
        .broadcast_transaction(pb::BroadcastTransactionRequest {
            raw_tx: raw.clone(),
        })
        .await
        .expect_err("non-final must be rejected");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("non-final"), "{}", err.message());

    btc.mine_blocks(pb::MineBlocksRequest {
        count: 1,
        address: String::new(),
    })
    .await?;
    let test = btc
        .test_mempool_accept(pb::TestMempoolAcceptRequest {
            raw_tx: raw.clone(),
        })
        .await?
        .into_inner();
    assert!(test.allowed, "{test:?}");
    assert!(test.fee_sat == 1_000 && test.vsize > 0, "{test:?}");
    let sent = btc
        .broadcast_transaction(pb::BroadcastTransactionRequest { raw_tx: raw })
        .await?
        .into_inner();
    assert_eq!(sent.txid, tx.compute_txid().to_string());

    let seen = until_kind(&mut watch, K::Mempool).await?;
    assert_eq!(seen.txid, sent.txid);
    assert_eq!(seen.index, 0);
    // GetSpender sees the spend in the mempool, with its witness.
    let pending = btc.get_spender(spender(op.clone())).await?.into_inner();
    assert!(pending.spent && pending.txid == sent.txid && pending.confirmations == 0);
    assert_eq!(pending.raw_tx, serialize(&tx), "witness included");
    let mined = btc
        .mine_blocks(pb::MineBlocksRequest {
            count: 1,
            address: String::new(),
        })
        .await?
        .into_inner();
    let fin = until_kind(&mut watch, K::Final).await?;
    assert_eq!(fin.txid, sent.txid);
    assert_eq!(fin.block_height, t + 1);
    assert_eq!(fin.block_hash, mined.block_hashes[0]);

    // Spent: gone from the UTXO set.
    let utxos = btc
        .list_unspent(pb::ListUnspentRequest {
            script_pubkey: key.address.script_pubkey().to_bytes(),
        })
        .await?
        .into_inner();
    assert!(utxos.utxos.is_empty());

    // A watch on an outpoint spent in the past finds the spend too.
    let mut late = btc
        .watch(pb::WatchRequest {
            target: Some(pb::watch_request::Target::Outpoint(op.clone())),
            confirmations: 1,
        })
        .await?
        .into_inner();
    let fin = until_kind(&mut late, K::Final).await?;
    assert_eq!(fin.txid, sent.txid);
    // ... and so does GetSpender, scanning the blocks (no spent index).
    let found = btc.get_spender(spender(op.clone())).await?.into_inner();
    assert!(found.spent && found.txid == sent.txid, "{found:?}");
    assert_eq!((found.block_height, found.confirmations), (t + 1, 1));
    let unknown = btc
        .get_spender(spender(pb::OutPoint {
            txid: "11".repeat(32),
            vout: 0,
        }))
        .await
        .expect_err("unknown outpoint");
    assert_eq!(unknown.code(), Code::NotFound);
    let missing = btc
        .get_spender(pb::GetSpenderRequest { outpoint: None })
        .await
        .expect_err("no outpoint");
    assert_eq!(missing.code(), Code::InvalidArgument);

    let fee = btc
        .estimate_fee(pb::EstimateFeeRequest { conf_target: 6 })
        .await?
        .into_inner();
    assert!(fee.fallback && fee.sat_per_vbyte > 0.0, "{fee:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_input_is_invalid_argument() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let mut btc = env.btc().await?;
    let e = btc
        .broadcast_transaction(pb::BroadcastTransactionRequest {
            raw_tx: vec![1, 2, 3],
        })
        .await
        .expect_err("bad tx");
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    let e = btc
        .get_transaction_status(pb::GetTransactionStatusRequest { txid: "zz".into() })
        .await
        .expect_err("bad txid");
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    let e = btc
        .mine_blocks(pb::MineBlocksRequest {
            count: 1,
            address: "tb1qnotanaddress".into(),
        })
        .await
        .expect_err("bad address");
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    let e = btc
        .list_unspent(pb::ListUnspentRequest {
            script_pubkey: vec![],
        })
        .await
        .expect_err("empty script");
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    let e = btc
        .watch(pb::WatchRequest {
            target: None,
            confirmations: 1,
        })
        .await
        .expect_err("no target");
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    // Unknown but well-formed txid.
    let st = btc
        .get_transaction_status(pb::GetTransactionStatusRequest {
            txid: "11".repeat(32),
        })
        .await?
        .into_inner();
    assert_eq!(st.state(), pb::TxState::Unknown);
    Ok(())
}
