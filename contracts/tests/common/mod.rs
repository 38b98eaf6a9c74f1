//! Shared test fixture: one fresh anvil per test, a deployed FairPay, fresh
//! funded wallets, chain-time control and exact balance accounting.

#![allow(dead_code)]

pub mod anvil;
pub mod scenario;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Result;
use bapay_fairpay::bindings::FairPay::FairPayErrors;
use bapay_fairpay::{Error, FairPayClient, JobParams};

pub use anvil::Anvil;
pub use scenario::{commit_paying, open_paying, Scenario};

/// 1 ether in wei.
pub const ETH: u128 = 1_000_000_000_000_000_000;

/// A funded party: its key, address and a client of the contract under test.
pub struct Party {
    pub signer: PrivateKeySigner,
    pub address: Address,
    pub provider: DynProvider,
    pub fairpay: FairPayClient<DynProvider>,
}

/// One anvil with one deployed FairPay.
pub struct Env {
    pub anvil: Anvil,
    pub reader: DynProvider,
    pub contract: Address,
    pub chain_id: u64,
    pub deploy_receipt_gas: u64,
}

impl Env {
    pub async fn new() -> Result<Self> {
        let anvil = Anvil::spawn().await?;
        let reader = ProviderBuilder::new()
            .connect_http(anvil.url().parse()?)
            .erased();
        let chain_id = reader.get_chain_id().await?;
        let mut env = Env {
            anvil,
            reader,
            contract: Address::ZERO,
            chain_id,
            deploy_receipt_gas: 0,
        };
        let deployer = env.party_unbound(100 * ETH).await?;
        let client = FairPayClient::deploy(deployer.provider.clone()).await?;
        env.contract = client.address();
        let code = env.reader.get_code_at(env.contract).await?;
        anyhow::ensure!(!code.is_empty(), "FairPay not deployed");
        Ok(env)
    }

    async fn party_unbound(&self, wei: u128) -> Result<Party> {
        let signer = PrivateKeySigner::random();
        let address = signer.address();
        self.set_balance(address, wei).await?;
        let provider = bapay_fairpay::wallet_provider(self.anvil.url(), signer.clone())?;
        let fairpay = FairPayClient::new(self.contract, provider.clone());
        Ok(Party {
            signer,
            address,
            provider,
            fairpay,
        })
    }

    /// A fresh wallet holding exactly `wei`.
    pub async fn party(&self, wei: u128) -> Result<Party> {
        self.party_unbound(wei).await
    }

    pub async fn set_balance(&self, who: Address, wei: u128) -> Result<()> {
        let _: serde_json::Value = self
            .reader
            .raw_request("anvil_setBalance".into(), (who, U256::from(wei)))
            .await?;
        Ok(())
    }

    pub async fn balance(&self, who: Address) -> Result<u128> {
        Ok(self.reader.get_balance(who).await?.to::<u128>())
    }

    /// Timestamp of the latest block.
    pub async fn now(&self) -> Result<u64> {
        let block = self
            .reader
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no latest block"))?;
        Ok(block.header.timestamp)
    }

    /// Mines one block at exactly `ts`: the next transaction's block follows it.
    pub async fn warp_to(&self, ts: u64) -> Result<()> {
        let _: serde_json::Value = self
            .reader
            .raw_request("evm_setNextBlockTimestamp".into(), (ts,))
            .await?;
        let _: serde_json::Value = self.reader.raw_request("evm_mine".into(), ()).await?;
        Ok(())
    }
}

/// Wei a receipt's sender paid for gas.
pub fn fee(r: &TransactionReceipt) -> u128 {
    r.gas_used as u128 * r.effective_gas_price
}

/// The FairPay custom error of a failed call, or a panic with the error.
pub fn reverted(r: Result<TransactionReceipt, Error>) -> FairPayErrors {
    match r {
        Ok(rc) => panic!(
            "expected a revert, the call succeeded: {:?}",
            rc.transaction_hash
        ),
        Err(Error::Reverted(e)) => e,
        Err(e) => panic!("expected a FairPay custom error, got: {e}"),
    }
}

/// Leaves of the standard job's tree (its audit's leaf count).
pub const AUDIT_LEAVES: u64 = 8;

/// The standard job's audit: 4 positions of `AUDIT_LEAVES`, a 100 s
/// window, a deposit of 0.001 ETH, not a search job.
pub fn audit() -> bapay_fairpay::AuditParams {
    bapay_fairpay::AuditParams {
        leafCount: AUDIT_LEAVES,
        samples: 4,
        window: 100,
        deposit: ETH / 1000,
        search: false,
    }
}

/// Standard job timing relative to `now`: commit deadline now+1000, t
/// now+2000; the standard audit.
pub fn job(o: Address, w: Address, t: Address, group: B256, terms: B256, now: u64) -> JobParams {
    JobParams {
        outsourcer: o,
        worker: w,
        arbiter: t,
        commitDeadline: now + 1000,
        payoutTime: now + 2000,
        reward: ETH / 10,
        bond: ETH / 20,
        group,
        terms,
        audit: bapay_fairpay::audit_hash(&audit()),
    }
}

/// Matches a FairPay error variant, with a readable failure.
#[macro_export]
macro_rules! assert_revert {
    ($call:expr, $variant:ident) => {{
        let e = $crate::common::reverted($call.await);
        assert!(
            matches!(
                e,
                bapay_fairpay::bindings::FairPay::FairPayErrors::$variant(_)
            ),
            "expected {}, got {:?}",
            stringify!($variant),
            e
        );
    }};
}
