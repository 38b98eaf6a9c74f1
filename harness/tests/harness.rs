//! The harness itself: nodes come up on their own ports in parallel, answer
//! RPC, and go away on drop; a process that dies early is reported with its
//! log tail instead of a hang.

use std::process::Command;
use std::time::Duration;

use bapay_harness::{Anvil, Bitcoind, ChildProcess};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn nodes_start_in_parallel_on_their_own_ports() -> anyhow::Result<()> {
    let (a, b, anvil) = tokio::try_join!(Bitcoind::spawn(), Bitcoind::spawn(), Anvil::spawn())?;
    assert_ne!(a.rpc_port(), b.rpc_port());
    let info = a.rpc("getblockchaininfo", json!([])).await?;
    assert_eq!(info["chain"], "regtest");
    let addr = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
    let mined = b.mine_to(2, addr).await?;
    assert_eq!(mined.len(), 2);
    assert_eq!(
        a.rpc("getblockcount", json!([])).await?,
        0,
        "nodes are independent"
    );
    let chain_id = anvil.rpc("eth_chainId", json!([])).await?;
    assert_eq!(chain_id, "0x7a69");

    let url = a.rpc_url();
    let log = a.process().log_path().to_path_buf();
    drop(a);
    assert!(b.rpc("getblockcount", json!([])).await.is_ok());
    let client = reqwest::Client::new();
    assert!(client.post(&url).send().await.is_err(), "killed on drop");
    assert!(
        !log.exists() || std::env::var_os("BAPAY_KEEP_LOGS").is_some(),
        "temp dir removed"
    );
    Ok(())
}

#[tokio::test]
async fn early_exit_is_reported_with_the_log_tail() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo starting; echo fatal: cannot bind >&2; exit 3"]);
    let mut p = ChildProcess::spawn("failing", cmd, dir.path())?;
    let err = p
        .wait_for_log("listening on ", Duration::from_secs(30))
        .await
        .expect_err("never ready");
    let msg = format!("{err:#}");
    assert!(msg.contains("exited"), "{msg}");
    assert!(msg.contains("fatal: cannot bind"), "{msg}");
    Ok(())
}

#[test]
fn missing_binary_says_how_to_install() {
    let err = bapay_harness::find_executable("BAPAY_TEST_NO_SUCH_EXE", "bapay-no-such-binary")
        .expect_err("not found");
    assert!(
        err.to_string().contains("scripts/install-tools.sh"),
        "{err}"
    );
}
