//! The real `outsourcer` binary over TLS with a deployment PKI: a
//! plaintext client is refused; its whole user API answers UNAUTHENTICATED
//! without a credential and PERMISSION_DENIED to every role but the user
//! (a calculator, the arbiter, a stranger with a valid TLS connection
//! cannot submit a job, cancel one, or read O's secret input); a wrong
//! bearer token is refused, the one in `<data_dir>/user.token` works, and
//! so does the user certificate. Nothing is stored by a refused call.

use std::time::Duration;

use bapay_daemon::tls::{pki, probe, Role, Tls};
use bapay_harness::ChildProcess;
use bapay_proto::outsourcer::v1 as pb;
use bapay_proto::outsourcer::v1::outsourcer_service_client::OutsourcerServiceClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_user_reaches_the_outsourcer() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let certs = dir.path().join("pki");
    pki::deployment(&certs, "test", &Role::ALL, &["127.0.0.1".into()])?;
    let data = dir.path().join("data");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_outsourcer"));
    cmd.args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .envs(pki::env("BAPAY_OUTSOURCER", &certs, Role::Outsourcer))
        .env("RUST_LOG", "info");
    let mut proc = ChildProcess::spawn("outsourcer", cmd, dir.path())?;
    let addr = proc.listen_addr(Duration::from_secs(30)).await?;
    let url = format!("https://{addr}");
    let token = std::fs::read_to_string(data.join("user.token"))?;
    let policy = bapay_outsourcer::policy(token.trim().to_string());
    let checked = probe::check_table(
        &url,
        &certs,
        pb::FILE_DESCRIPTOR_SET,
        "bapay.outsourcer.v1",
        &policy,
    )
    .await
    .map_err(anyhow::Error::msg)?;
    assert!(checked > 20, "{checked} calls checked");
    let store = bapay_daemon::SqliteStore::open(
        &data.join("outsourcer.sqlite"),
        std::sync::Arc::new(bapay_daemon::SystemClock),
    )?;
    assert!(bapay_daemon::Store::list_jobs(&store)?.is_empty());

    // The bearer token, without a client certificate.
    let stranger = Tls::ca_only(&certs.join("ca.pem"))?
        .endpoint(&url)?
        .connect()
        .await?;
    let with = |t: String| {
        let t: tonic::metadata::MetadataValue<_> = format!("Bearer {t}").parse().expect("header");
        move |mut r: tonic::Request<()>| {
            r.metadata_mut().insert("authorization", t.clone());
            Ok(r)
        }
    };
    let mut c = OutsourcerServiceClient::with_interceptor(stranger.clone(), with("0".repeat(64)));
    let e = c
        .get_info(pb::GetInfoRequest {})
        .await
        .expect_err("wrong token");
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    let mut c = OutsourcerServiceClient::with_interceptor(stranger, with(token.trim().into()));
    c.get_info(pb::GetInfoRequest {}).await?;
    let mut user = OutsourcerServiceClient::new(
        Tls::from_dir(&certs, Role::User)?
            .endpoint(&url)?
            .connect()
            .await?,
    );
    let jobs = user
        .list_jobs(pb::ListJobsRequest::default())
        .await?
        .into_inner();
    assert!(jobs.jobs.is_empty());
    proc.terminate(Duration::from_secs(10));
    Ok(())
}
