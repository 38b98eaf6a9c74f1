//! The real `calculator` binary over TLS with a deployment PKI: a plaintext
//! client is refused, every RPC of its table answers UNAUTHENTICATED
//! without a certificate and PERMISSION_DENIED to a role it does not allow
//! (its protocol RPCs answer only outsourcers; the arbiter may read results
//! and open leaves), nothing is stored, and GetInfo works as an
//! outsourcer.

use std::time::Duration;

use bapay_daemon::tls::{pki, probe, Role, Tls};
use bapay_harness::ChildProcess;
use bapay_proto::calculator::v1 as pb;
use bapay_proto::calculator::v1::calculator_service_client::CalculatorServiceClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_roles_of_the_table_reach_the_calculator() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let certs = dir.path().join("pki");
    pki::deployment(&certs, "test", &Role::ALL, &["127.0.0.1".into()])?;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_calculator"));
    cmd.args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .envs(pki::env("BAPAY_CALCULATOR", &certs, Role::Calculator))
        .env("RUST_LOG", "info");
    let mut proc = ChildProcess::spawn("calculator", cmd, dir.path())?;
    let addr = proc.listen_addr(Duration::from_secs(30)).await?;
    let url = format!("https://{addr}");
    let checked = probe::check_table(
        &url,
        &certs,
        pb::FILE_DESCRIPTOR_SET,
        "bapay.calculator.v1",
        &bapay_calculator::policy(),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    assert!(checked > 30, "{checked} calls checked");
    let store = bapay_daemon::SqliteStore::open(
        &dir.path().join("data/calculator.sqlite"),
        std::sync::Arc::new(bapay_daemon::SystemClock),
    )?;
    assert!(bapay_daemon::Store::list_jobs(&store)?.is_empty());
    let info = CalculatorServiceClient::new(
        Tls::from_dir(&certs, Role::Outsourcer)?
            .endpoint(&url)?
            .connect()
            .await?,
    )
    .get_info(pb::GetInfoRequest {})
    .await?
    .into_inner();
    assert_eq!(info.bitcoin_key.len(), 32);
    proc.terminate(Duration::from_secs(10));
    Ok(())
}
