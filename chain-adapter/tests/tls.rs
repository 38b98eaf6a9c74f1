//! The real `chain-adapter` binary over TLS with a deployment PKI, on real
//! regtest bitcoind and anvil: a plaintext client is refused; every RPC
//! answers UNAUTHENTICATED without a certificate; the chain reads and
//! sends answer every role daemon; MineBlocks, FaucetPay, IncreaseTime,
//! Mine and SetBalance are PERMISSION_DENIED to role certificates and work
//! with the admin certificate.

mod common;

use bapay_daemon::tls::{pki, probe, Role, Tls};
use bapay_proto::chain::v1 as pb;
use pb::bitcoin_service_client::BitcoinServiceClient;
use pb::ethereum_service_client::EthereumServiceClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regtest_helpers_need_the_admin_certificate() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let certs = dir.path().join("pki");
    pki::deployment(&certs, "test", &Role::ALL, &["127.0.0.1".into()])?;
    let env = common::Env::start_tls(&certs).await?;
    let url = format!("https://{}", env.addr);
    let checked = probe::check_table(
        &url,
        &certs,
        pb::FILE_DESCRIPTOR_SET,
        "bapay.chain.v1",
        &bapay_chain_adapter::policy(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}\n{}", env.adapter_log()))?;
    assert!(checked > 60, "{checked} calls checked");

    let as_role = |r: Role| -> anyhow::Result<tonic::transport::Channel> {
        Ok(Tls::from_dir(&certs, r)?.endpoint(&url)?.connect_lazy())
    };
    let mine = pb::MineBlocksRequest {
        count: 2,
        address: String::new(),
    };
    for r in [
        Role::Outsourcer,
        Role::Calculator,
        Role::Arbiter,
        Role::User,
    ] {
        let e = BitcoinServiceClient::new(as_role(r)?)
            .mine_blocks(mine.clone())
            .await
            .expect_err("refused");
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "{r}");
        let e = EthereumServiceClient::new(as_role(r)?)
            .increase_time(pb::IncreaseTimeRequest { seconds: 60 })
            .await
            .expect_err("refused");
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "{r}");
    }
    let mut btc = BitcoinServiceClient::new(as_role(Role::Calculator)?);
    let before = btc.get_tip(pb::GetTipRequest {}).await?.into_inner().height;
    BitcoinServiceClient::new(as_role(Role::Admin)?)
        .mine_blocks(mine)
        .await?;
    let after = btc.get_tip(pb::GetTipRequest {}).await?.into_inner().height;
    assert_eq!(after, before + 2, "the admin mined, the roles read the tip");
    EthereumServiceClient::new(as_role(Role::Admin)?)
        .increase_time(pb::IncreaseTimeRequest { seconds: 60 })
        .await?;
    Ok(())
}
