//! Who reaches the daemons of a live network (issue 11), on real regtest
//! bitcoind and the real daemons over TLS with the deployment PKI:
//! - a stranger who reaches O's port: plaintext, TLS without a client
//!   certificate, a wrong bearer token, a certificate of its own CA naming
//!   itself `user`, and a counterparty's valid certificate (a calculator,
//!   the arbiter) all fail to submit a job that would spend O's coins; O's
//!   balance and job list are unchanged;
//! - the README's grpcurl block runs as written (ports, certificate
//!   directory and O's data dir substituted), and the refused examples it
//!   names are refused with the codes it names.
//!
//! One network for the whole file.

mod common;

use anyhow::{ensure, Context, Result};
use bapay_daemon::tls::{pki, Role, Tls};
use bapay_proto::outsourcer::v1 as pb;
use bapay_proto::outsourcer::v1::outsourcer_service_client::OutsourcerServiceClient;
use bapay_scenarios::pki::pki as deployment;
use bapay_scenarios::{Net, NetOptions};
use common::search_job;

async fn submit_as(tls: &Tls, net: &Net, bearer: Option<&str>) -> Result<tonic::Status> {
    let channel = match tls.endpoint(&net.outsourcer.url())?.connect().await {
        Ok(c) => c,
        Err(e) => return Ok(tonic::Status::unavailable(format!("connect: {e}"))),
    };
    let mut req = tonic::Request::new(search_job(net, "stranger", 1, 40));
    if let Some(t) = bearer {
        req.metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse()?);
    }
    match OutsourcerServiceClient::new(channel).submit_job(req).await {
        Ok(_) => anyhow::bail!("a stranger's SubmitJob was accepted"),
        Err(s) => Ok(s),
    }
}

async fn strangers_cannot_submit(net: &Net) -> Result<()> {
    let pki = deployment()?;
    let o_key = net.o_key().await?;
    let before = net.balance(&o_key).await?;
    ensure!(before > 0, "O is funded");

    // Plaintext to a TLS port: no gRPC answer at all.
    let plain = Tls::plaintext()
        .endpoint(&net.outsourcer.url())?
        .connect()
        .await;
    if let Ok(ch) = plain {
        let r = OutsourcerServiceClient::new(ch)
            .submit_job(search_job(net, "plain", 1, 40))
            .await;
        ensure!(r.is_err(), "a plaintext SubmitJob was accepted");
    }

    let ca_only = Tls::ca_only(&pki.join("ca.pem"))?;
    let s = submit_as(&ca_only, net, None).await?;
    ensure!(
        s.code() == tonic::Code::Unauthenticated,
        "no certificate: {s:?}"
    );
    let s = submit_as(&ca_only, net, Some(&"ab".repeat(32))).await?;
    ensure!(
        s.code() == tonic::Code::Unauthenticated,
        "wrong token: {s:?}"
    );

    // A CA of its own that names its holder `user`: the handshake fails.
    let own = bapay_harness::temp_dir("bapay-sybil-pki")?;
    pki::deployment(own.path(), "sybil", &[Role::User], &["127.0.0.1".into()])?;
    let forged = Tls::from_files(
        &pki.join("ca.pem"),
        &own.path().join("user.pem"),
        &own.path().join("user-key.pem"),
    )?;
    let s = submit_as(&forged, net, None).await?;
    ensure!(
        s.code() != tonic::Code::Ok,
        "a certificate of a foreign CA was accepted"
    );

    // Counterparties with valid certificates of the deployment.
    for role in [
        Role::Calculator,
        Role::Arbiter,
        Role::Outsourcer,
        Role::Admin,
    ] {
        let s = submit_as(&Tls::from_dir(&pki, role)?, net, None).await?;
        ensure!(s.code() == tonic::Code::PermissionDenied, "{role}: {s:?}");
    }

    let jobs = net
        .o()?
        .list_jobs(pb::ListJobsRequest::default())
        .await?
        .into_inner();
    ensure!(
        jobs.jobs.is_empty(),
        "a refused call stored a job: {jobs:?}"
    );
    net.mine(1).await?;
    ensure!(net.balance(&o_key).await? == before, "O's balance moved");
    Ok(())
}

/// The README's block between the grpcurl-test markers, made to run on
/// `net`: default ports to the network's, O's data dir to its own.
fn readme_block(net: &Net) -> Result<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))?;
    let begin = readme
        .find("<!-- grpcurl-test:begin -->")
        .context("README: no grpcurl-test:begin marker")?;
    let end = readme
        .find("<!-- grpcurl-test:end -->")
        .context("README: no grpcurl-test:end marker")?;
    let block = &readme[begin..end];
    let body: Vec<&str> = block
        .lines()
        .skip_while(|l| !l.starts_with("```sh"))
        .skip(1)
        .take_while(|l| !l.starts_with("```"))
        .collect();
    ensure!(body.len() > 5, "README grpcurl block is empty");
    let mut script = body.join("\n");
    for (port, d) in [
        ("50051", &net.adapter),
        ("50061", &net.outsourcer),
        ("50062", &net.calculators[0]),
        ("50063", &net.arbiter),
    ] {
        script = script.replace(&format!("localhost:{port}"), &d.addr);
    }
    Ok(script.replace(
        "/tmp/bapay/o/",
        &format!("{}/", net.dir.join("outsourcer").display()),
    ))
}

fn bash(script: &str) -> Result<std::process::Output> {
    let pki = deployment()?;
    let grpcurl = bapay_harness::find_executable("GRPCURL_EXE", "grpcurl")
        .context("no grpcurl: run `make test` or `eval \"$(scripts/install-tools.sh)\"`")?;
    Ok(std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("C", &pki)
        .env("GRPCURL_EXE", grpcurl)
        .output()?)
}

async fn readme_grpcurl_examples_work(net: &Net) -> Result<()> {
    let script = readme_block(net)?;
    let out = bash(&script)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success(),
        "README grpcurl block failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    for want in [
        "SERVING",
        "bapay.chain.v1.BitcoinService",
        "bapay.outsourcer.v1.OutsourcerService",
        "bitcoinKey",
        "jobId",
    ] {
        ensure!(stdout.contains(want), "no {want} in:\n{stdout}");
    }
    // The refused examples the README names.
    let defs: String = script
        .lines()
        .filter(|l| {
            l.split_once("=\"").is_some_and(|(v, _)| {
                !v.is_empty() && v.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            })
        })
        .collect::<Vec<_>>()
        .join("\n");
    for (call, code) in [
        (
            format!(
                "$G {} bapay.outsourcer.v1.OutsourcerService/GetInfo",
                net.outsourcer.addr
            ),
            "Unauthenticated",
        ),
        (
            format!(
                "$G $USER -d '{{\"count\": 1}}' {} bapay.chain.v1.BitcoinService/MineBlocks",
                net.adapter.addr
            ),
            "PermissionDenied",
        ),
    ] {
        let out = bash(&format!("{defs}\n{call}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(
            !out.status.success() && stderr.contains(code),
            "{call}: expected {code}, got {stderr}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_allowed_roles_reach_a_live_network() -> Result<()> {
    let net = Net::start(NetOptions {
        calculators: 1,
        poll_ms: 200,
        ..Default::default()
    })
    .await?;
    net.fund(2_000_000, 500_000).await?;
    strangers_cannot_submit(&net).await?;
    readme_grpcurl_examples_work(&net).await?;
    Ok(())
}
