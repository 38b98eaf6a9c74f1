//! A real anvil, the real `chain-adapter` binary against it, and a FairPay
//! deployed by anvil's first dev account (shared by the calculator's and,
//! through `#[path]`, the arbiter's Ethereum tests). Ports are OS-assigned,
//! readiness is polled, children die with the value.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{ensure, Context, Result};
use bapay_fairpay::{wallet_provider, FairPayClient};
use bapay_harness::{Anvil, ChildProcess, ANVIL_DEV_KEYS};
use bapay_proto::chain::v1 as chain;
use bapay_proto::chain::v1::ethereum_service_client::EthereumServiceClient;
use tonic::transport::Channel;

/// Upper bound of any wait (a hang guard, not a timing assertion).
pub const WAIT: Duration = Duration::from_secs(120);

/// The chain-adapter binary: `CHAIN_ADAPTER_EXE`, else next to `sibling`
/// (a `CARGO_BIN_EXE_*` of the crate under test).
pub fn adapter_exe(sibling: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHAIN_ADAPTER_EXE") {
        return Some(PathBuf::from(p));
    }
    let p = Path::new(sibling).parent()?.join("chain-adapter");
    p.is_file().then_some(p)
}

/// anvil + adapter + FairPay.
pub struct EthEnv {
    pub anvil: Anvil,
    pub adapter: ChildProcess,
    pub adapter_url: String,
    pub eth: EthereumServiceClient<Channel>,
    pub contract: Address,
    pub chain_id: u64,
    pub reader: DynProvider,
    pub dir: tempfile::TempDir,
}

impl EthEnv {
    /// Starts everything; `sibling` locates the adapter binary.
    pub async fn start(sibling: &str) -> Result<Self> {
        let exe = adapter_exe(sibling).context(
            "no chain-adapter binary: set CHAIN_ADAPTER_EXE or run `cargo build -p bapay-chain-adapter` (make test does)",
        )?;
        let anvil = Anvil::spawn()
            .await
            .context("no anvil: run `make test` or `eval \"$(scripts/install-tools.sh)\"`")?;
        let dir = tempfile::tempdir()?;
        let mut cmd = Command::new(exe);
        cmd.args(["--listen", "127.0.0.1:0", "--insecure-plaintext"])
            .args(["--ethereum-rpc-url", anvil.url()])
            .env("BAPAY_CHAIN__ETHEREUM__POLL_MS", "100")
            .env("RUST_LOG", "info");
        let mut adapter = ChildProcess::spawn("chain-adapter", cmd, dir.path())?;
        let addr = adapter.wait_for_log("listening on ", WAIT).await?;
        let adapter_url = format!("http://{addr}");
        let eth = EthereumServiceClient::connect(adapter_url.clone()).await?;
        let deployer = Self::wallet_of(&anvil, 0)?;
        let contract = FairPayClient::deploy(deployer).await?.address();
        let reader = ProviderBuilder::new()
            .connect_http(anvil.url().parse()?)
            .erased();
        let chain_id = reader.get_chain_id().await?;
        Ok(EthEnv {
            anvil,
            adapter,
            adapter_url,
            eth,
            contract,
            chain_id,
            reader,
            dir,
        })
    }

    fn wallet_of(anvil: &Anvil, i: usize) -> Result<DynProvider> {
        let signer: PrivateKeySigner = ANVIL_DEV_KEYS[i].parse()?;
        Ok(wallet_provider(anvil.url(), signer)?)
    }

    /// A FairPay client for anvil dev account `i` (funded at genesis), and
    /// its address.
    pub fn dev_party(&self, i: usize) -> Result<(FairPayClient<DynProvider>, Address)> {
        let signer: PrivateKeySigner = ANVIL_DEV_KEYS[i].parse()?;
        let address = signer.address();
        let client = FairPayClient::new(self.contract, Self::wallet_of(&self.anvil, i)?);
        Ok((client, address))
    }

    /// Sets a balance through the adapter (anvil helper).
    pub async fn set_balance(&self, who: Address, wei: u128) -> Result<()> {
        self.eth
            .clone()
            .set_balance(chain::SetBalanceRequest {
                address: who.to_vec(),
                balance_wei: wei.to_string(),
            })
            .await?;
        Ok(())
    }

    /// Balance through the adapter.
    pub async fn balance(&self, who: Address) -> Result<U256> {
        let a = self
            .eth
            .clone()
            .get_account(chain::GetAccountRequest {
                address: who.to_vec(),
            })
            .await?
            .into_inner();
        Ok(a.balance_wei.parse()?)
    }

    /// Latest block time through the adapter.
    pub async fn now(&self) -> Result<u64> {
        Ok(self
            .eth
            .clone()
            .get_chain_info(chain::GetChainInfoRequest {})
            .await?
            .into_inner()
            .block_timestamp)
    }

    /// Moves chain time forward (mines a block).
    pub async fn increase_time(&self, seconds: u64) -> Result<()> {
        self.eth
            .clone()
            .increase_time(chain::IncreaseTimeRequest { seconds })
            .await?;
        Ok(())
    }

    /// Wei `who` paid for gas in every block up to the latest.
    pub async fn gas_paid_by(&self, who: Address) -> Result<U256> {
        let latest = self.reader.get_block_number().await?;
        let mut sum = U256::ZERO;
        for n in 0..=latest {
            let receipts = self
                .reader
                .get_block_receipts(n.into())
                .await?
                .unwrap_or_default();
            for r in receipts.iter().filter(|r| r.from == who) {
                sum += U256::from(r.gas_used) * U256::from(r.effective_gas_price);
            }
        }
        Ok(sum)
    }
}

/// Polls `f` until it yields a value (every 200 ms, at most [`WAIT`]).
pub async fn poll<T, F, Fut>(what: &str, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        ensure!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
