//! grpcurl (the real one, `GRPCURL_EXE` from scripts/install-tools.sh) can
//! list and describe the services of a running adapter through server
//! reflection, check health, and make a call.

mod common;

use std::process::Command;

use anyhow::{bail, Context, Result};
use common::Env;

fn grpcurl(args: &[&str]) -> Result<String> {
    let exe = bapay_harness::find_executable("GRPCURL_EXE", "grpcurl")?;
    let out = Command::new(&exe)
        .args(args)
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    if !out.status.success() {
        bail!(
            "grpcurl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn grpcurl_lists_and_describes_services() -> Result<()> {
    let env = Env::start().await?;
    let addr = env.addr.as_str();

    let list = grpcurl(&["-plaintext", addr, "list"])?;
    for svc in [
        "bapay.chain.v1.BitcoinService",
        "bapay.chain.v1.EthereumService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(list.contains(svc), "{svc} missing from:\n{list}");
    }

    let desc = grpcurl(&[
        "-plaintext",
        addr,
        "describe",
        "bapay.chain.v1.BitcoinService",
    ])?;
    assert!(desc.contains("rpc Watch"), "{desc}");
    assert!(desc.contains("rpc BroadcastTransaction"), "{desc}");
    let desc = grpcurl(&[
        "-plaintext",
        addr,
        "describe",
        "bapay.chain.v1.WatchRequest",
    ])?;
    assert!(desc.contains("confirmations"), "{desc}");

    let tip = grpcurl(&["-plaintext", addr, "bapay.chain.v1.BitcoinService/GetTip"])?;
    assert!(tip.contains("\"nodeChain\": \"regtest\""), "{tip}");
    let info = grpcurl(&[
        "-plaintext",
        addr,
        "bapay.chain.v1.EthereumService/GetChainInfo",
    ])?;
    assert!(info.contains("31337"), "{info}");
    let health = grpcurl(&[
        "-plaintext",
        "-d",
        "{\"service\":\"\"}",
        addr,
        "grpc.health.v1.Health/Check",
    ])?;
    assert!(health.contains("SERVING"), "{health}");
    Ok(())
}
