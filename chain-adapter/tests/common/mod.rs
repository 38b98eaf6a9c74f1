//! Shared setup of the chain-adapter integration tests: real regtest
//! bitcoind and anvil from the harness, and the real `chain-adapter` binary
//! spawned against them, driven through its gRPC API.
#![allow(dead_code)]

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use bapay_harness::{Anvil, Bitcoind, ChildProcess};
use bapay_proto::chain::v1 as pb;
use pb::bitcoin_service_client::BitcoinServiceClient;
use pb::ethereum_service_client::EthereumServiceClient;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

/// Upper bound for any single wait in a test (a hang guard, not a timing
/// assertion).
pub const WAIT: Duration = Duration::from_secs(120);

/// Nodes plus an adapter process.
pub struct Env {
    pub bitcoind: Bitcoind,
    pub anvil: Anvil,
    pub adapter: ChildProcess,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Env {
    /// Nodes and an adapter configured for regtest / anvil.
    pub async fn start() -> Result<Env> {
        Self::start_with(&[]).await
    }

    /// Nodes and an adapter with extra flags (e.g. another network),
    /// plaintext on loopback.
    pub async fn start_with(extra: &[&str]) -> Result<Env> {
        let mut all = vec!["--insecure-plaintext"];
        all.extend_from_slice(extra);
        Self::start_raw(&all, &[]).await
    }

    /// Nodes and an adapter over TLS with the certificates of the
    /// deployment in `pki` (`bapay certs` layout).
    pub async fn start_tls(pki: &std::path::Path) -> Result<Env> {
        let (cert, key) = bapay_daemon::tls::pki::paths(pki, bapay_daemon::tls::Role::ChainAdapter);
        let ca = pki.join("ca.pem");
        let env = [
            ("BAPAY_CHAIN__TLS__CA_FILE", ca.display().to_string()),
            ("BAPAY_CHAIN__TLS__CERT_FILE", cert.display().to_string()),
            ("BAPAY_CHAIN__TLS__KEY_FILE", key.display().to_string()),
        ];
        Self::start_raw(&[], &env).await
    }

    async fn start_raw(extra: &[&str], env: &[(&str, String)]) -> Result<Env> {
        let (bitcoind, anvil) = tokio::try_join!(Bitcoind::spawn(), Anvil::spawn())?;
        let dir = bapay_harness::temp_dir("bapay-adapter-test-")?;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chain-adapter"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(["--listen", "127.0.0.1:0"])
            .args(["--bitcoin-rpc-url", &bitcoind.rpc_url()])
            .arg("--bitcoin-cookie-file")
            .arg(bitcoind.cookie_file())
            .args(["--ethereum-rpc-url", anvil.url()])
            .args(extra)
            .env("BAPAY_CHAIN__BITCOIN__WATCH_POLL_MS", "100")
            .env("BAPAY_CHAIN__BITCOIN__TIMEOUT_MS", "3000")
            .env("BAPAY_CHAIN__ETHEREUM__TIMEOUT_MS", "3000")
            .env("BAPAY_CHAIN__ETHEREUM__POLL_MS", "100")
            .env("RUST_LOG", "info,bapay_chain_adapter=debug");
        let mut adapter = ChildProcess::spawn("chain-adapter", cmd, dir.path())?;
        let addr = adapter.wait_for_log("listening on ", WAIT).await?;
        Ok(Env {
            bitcoind,
            anvil,
            adapter,
            addr,
            _dir: dir,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn btc(&self) -> Result<BitcoinServiceClient<Channel>> {
        Ok(BitcoinServiceClient::connect(self.url()).await?)
    }

    pub async fn eth(&self) -> Result<EthereumServiceClient<Channel>> {
        Ok(EthereumServiceClient::connect(self.url()).await?)
    }

    /// The adapter's log, for failure messages.
    pub fn adapter_log(&self) -> String {
        self.adapter.log_tail(60)
    }
}

/// Next stream item, failing instead of hanging.
pub async fn next<T>(s: &mut tonic::Streaming<T>) -> Result<T> {
    tokio::time::timeout(WAIT, s.next())
        .await
        .context("stream stalled")?
        .context("stream ended")?
        .map_err(|s| anyhow::anyhow!("stream error: {s}"))
}

/// Reads watch events until one of `kind` (returned), failing on FINAL of
/// another kind or stream end.
pub async fn until_kind(
    s: &mut tonic::Streaming<pb::WatchEvent>,
    kind: pb::WatchEventKind,
) -> Result<pb::WatchEvent> {
    loop {
        let ev = next(s).await?;
        eprintln!(
            "watch event: {:?} txid={} confs={} height={}",
            ev.kind(),
            ev.txid,
            ev.confirmations,
            ev.block_height
        );
        if ev.kind() == kind {
            return Ok(ev);
        }
        anyhow::ensure!(
            ev.kind() != pb::WatchEventKind::Final,
            "stream finished before {kind:?}"
        );
    }
}

/// A fresh random P2TR key and its regtest address, for tests that spend.
pub struct TestKey {
    pub keypair: bitcoin::key::Keypair,
    pub address: bitcoin::Address,
}

impl TestKey {
    pub fn new() -> TestKey {
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let keypair =
            bitcoin::key::Keypair::new(&secp, &mut bitcoin::secp256k1::rand::thread_rng());
        let (x, _) = keypair.x_only_public_key();
        let address = bitcoin::Address::p2tr(&secp, x, None, bitcoin::Network::Regtest);
        TestKey { keypair, address }
    }

    /// Signs every input of `tx` (all spending this key's outputs) by key path.
    pub fn sign(&self, tx: &mut bitcoin::Transaction, prevouts: &[bitcoin::TxOut]) {
        use bitcoin::hashes::Hash as _;
        use bitcoin::key::TapTweak;
        use bitcoin::sighash::{Prevouts, SighashCache, TapSighashType};
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let tweaked = self.keypair.tap_tweak(&secp, None).to_keypair();
        let sigs: Vec<_> = {
            let mut cache = SighashCache::new(&*tx);
            (0..prevouts.len())
                .map(|i| {
                    let h = cache
                        .taproot_key_spend_signature_hash(
                            i,
                            &Prevouts::All(prevouts),
                            TapSighashType::Default,
                        )
                        .expect("sighash");
                    secp.sign_schnorr(
                        &bitcoin::secp256k1::Message::from_digest(h.to_byte_array()),
                        &tweaked,
                    )
                })
                .collect()
        };
        for (inp, sig) in tx.input.iter_mut().zip(sigs) {
            inp.witness = bitcoin::Witness::from_slice(&[sig.as_ref().to_vec()]);
        }
    }
}
