//! A node killed mid-test makes the adapter answer UNAVAILABLE (or
//! DEADLINE_EXCEEDED) within its per-call timeout, never hang or crash; the
//! other chain keeps working.

mod common;

use std::time::Duration;

use bapay_proto::chain::v1 as pb;
use common::Env;
use tonic::Code;

/// Generous client-side bound (the adapter's node timeout is 3 s in tests):
/// hitting it means the adapter hung.
const CLIENT_DEADLINE: Duration = Duration::from_secs(30);

fn is_node_down(code: Code) -> bool {
    matches!(code, Code::Unavailable | Code::DeadlineExceeded)
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_nodes_yield_unavailable() -> anyhow::Result<()> {
    let mut env = Env::start().await?;
    let mut btc = env.btc().await?;
    let mut eth = env.eth().await?;
    btc.get_tip(pb::GetTipRequest {}).await?;
    eth.get_chain_info(pb::GetChainInfoRequest {}).await?;

    env.bitcoind.kill();
    let mut req = tonic::Request::new(pb::GetTipRequest {});
    req.set_timeout(CLIENT_DEADLINE);
    let e = tokio::time::timeout(CLIENT_DEADLINE, btc.get_tip(req))
        .await?
        .expect_err("bitcoind is down");
    assert!(is_node_down(e.code()), "{e}");
    let e = btc
        .broadcast_transaction(pb::BroadcastTransactionRequest { raw_tx: hex_tx() })
        .await
        .expect_err("bitcoind is down");
    assert!(is_node_down(e.code()), "{e}");

    // Ethereum still answers.
    eth.get_chain_info(pb::GetChainInfoRequest {}).await?;

    env.anvil.kill();
    let mut req = tonic::Request::new(pb::GetChainInfoRequest {});
    req.set_timeout(CLIENT_DEADLINE);
    let e = tokio::time::timeout(CLIENT_DEADLINE, eth.get_chain_info(req))
        .await?
        .expect_err("anvil is down");
    assert!(is_node_down(e.code()), "{e}");

    // The adapter itself is still alive.
    assert!(env.adapter.exit_status().is_none(), "{}", env.adapter_log());
    Ok(())
}

/// A well-formed (unsigned, never valid) transaction, so the request passes
/// validation and reaches the dead node.
fn hex_tx() -> Vec<u8> {
    use bitcoin::absolute::LockTime;
    use bitcoin::transaction::Version;
    use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
    let tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(1000),
            script_pubkey: ScriptBuf::new(),
        }],
    };
    bitcoin::consensus::encode::serialize(&tx)
}
