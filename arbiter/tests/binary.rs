//! Starts the real `arbiter` binary on 127.0.0.1:0 with a temporary data
//! directory and calls GetInfo and the gRPC health check over the network.

use std::time::Duration;

use bapay_harness::ChildProcess;
use bapay_proto::arbiter::v1::arbiter_service_client::ArbiterServiceClient;
use bapay_proto::arbiter::v1::GetInfoRequest;
use bapay_proto::common::v1::Chain;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

// Multi-threaded: `terminate` blocks its thread, and the client's connection
// task must still answer the server's GOAWAY for a graceful stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_get_info_and_health() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_arbiter"));
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
        "--data-dir",
    ])
    .arg(dir.path().join("data"))
    .env("RUST_LOG", "info");
    let mut proc = ChildProcess::spawn("arbiter", cmd, dir.path())?;
    let rest = proc
        .wait_for_log("listening on ", Duration::from_secs(30))
        .await?;
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;

    let info = ArbiterServiceClient::new(channel.clone())
        .get_info(GetInfoRequest {})
        .await?
        .into_inner();
    assert_eq!(info.bitcoin_key.len(), 32);
    assert_eq!(info.chains, vec![Chain::Bitcoin as i32]);

    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "bapay.arbiter.v1.ArbiterService".into(),
        })
        .await?
        .into_inner()
        .status;
    assert_eq!(status, 1, "SERVING");
    // The key file was created in the data directory.
    assert!(dir.path().join("data").read_dir()?.next().is_some());
    // SIGTERM: the daemon stops gracefully (exit status 0).
    let started = std::time::Instant::now();
    proc.terminate(Duration::from_secs(10));
    let st = proc.exit_status();
    assert!(
        st.is_some_and(|s| s.success()),
        "{st:?} after {:?}\n{}",
        started.elapsed(),
        proc.log_tail(5)
    );
    Ok(())
}
