//! Starts the real `arbiter` binary on 127.0.0.1:0 with a temporary data
//! directory and a deployment PKI, runs its whole access table (plaintext
//! refused, no certificate UNAUTHENTICATED, the wrong role
//! PERMISSION_DENIED on every RPC, nothing stored), then calls GetInfo as
//! an outsourcer and the gRPC health check without a certificate.

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
    use bapay_daemon::tls::{pki, probe, Role, Tls};
    let dir = tempfile::tempdir()?;
    let certs = dir.path().join("pki");
    pki::deployment(&certs, "test", &Role::ALL, &["127.0.0.1".into()])?;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_arbiter"));
    cmd.envs(pki::env("BAPAY_ARBITER", &certs, Role::Arbiter));
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
    let addr = proc.listen_addr(Duration::from_secs(30)).await?;
    let url = format!("https://{addr}");
    let jobs = || -> anyhow::Result<usize> {
        let store = bapay_daemon::SqliteStore::open(
            &dir.path().join("data/arbiter.sqlite"),
            std::sync::Arc::new(bapay_daemon::SystemClock),
        )?;
        Ok(bapay_daemon::Store::list_jobs(&store)?.len())
    };
    let checked = probe::check_table(
        &url,
        &certs,
        bapay_proto::arbiter::v1::FILE_DESCRIPTOR_SET,
        "bapay.arbiter.v1",
        &bapay_arbiter::policy(),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    assert!(checked > 10, "{checked} calls checked");
    assert_eq!(jobs()?, 0, "no refused call stored anything");
    let channel = Tls::from_dir(&certs, Role::Outsourcer)?
        .endpoint(&url)?
        .connect()
        .await?;

    let info = ArbiterServiceClient::new(channel.clone())
        .get_info(GetInfoRequest {})
        .await?
        .into_inner();
    assert_eq!(info.bitcoin_key.len(), 32);
    assert_eq!(info.chains, vec![Chain::Bitcoin as i32]);

    let stranger = Tls::ca_only(&certs.join("ca.pem"))?
        .endpoint(&url)?
        .connect()
        .await?;
    let status = HealthClient::new(stranger)
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
