//! `make gas`: FairPay's gas per operation next to the paper's Table 1.
//!
//! Deploys FairPay on a fresh anvil, runs one honest job (open, bond & commit,
//! payout) and one judged job (open, bond & commit, judge) with real
//! transactions, and prints one table of receipt gas (base cost included)
//! beside the Ethereum paper's figures. Deployment is a one-off shared by
//! every job and is reported separately, outside the per-job totals.

#[path = "../../tests/common/anvil.rs"]
mod anvil;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result};
use bapay_fairpay::job::opaque_terms;
use bapay_fairpay::{group_id, FairPay, FairPayClient, JobParams};

const PAPER_CREATE: u64 = 267_202;
const PAPER_REWARD: u64 = 21_485;
const PAPER_BOND: u64 = 21_397;
const PAPER_PAY: u64 = 41_533;
const PAPER_JUDGE: u64 = 22_086;
const PAPER_CLAIM: u64 = 29_383;
const PAPER_HONEST: u64 = 351_617;
const PAPER_DISPUTE: u64 = 403_086;

struct Chain {
    url: String,
    reader: DynProvider,
}

impl Chain {
    async fn wallet(&self) -> Result<DynProvider> {
        let signer = PrivateKeySigner::random();
        let _: serde_json::Value = self
            .reader
            .raw_request(
                "anvil_setBalance".into(),
                (signer.address(), U256::from(10u128.pow(20))),
            )
            .await?;
        Ok(bapay_fairpay::wallet_provider(&self.url, signer)?)
    }

    async fn warp_to(&self, ts: u64) -> Result<()> {
        let _: serde_json::Value = self
            .reader
            .raw_request("evm_setNextBlockTimestamp".into(), (ts,))
            .await?;
        let _: serde_json::Value = self.reader.raw_request("evm_mine".into(), ()).await?;
        Ok(())
    }

    async fn now(&self) -> Result<u64> {
        let b = self
            .reader
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?;
        Ok(b.context("no latest block")?.header.timestamp)
    }
}

struct Parties {
    o: FairPayClient<DynProvider>,
    w: FairPayClient<DynProvider>,
    t: FairPayClient<DynProvider>,
    addrs: [Address; 3],
}

async fn job(chain: &Chain, p: &Parties, tag: u8) -> Result<JobParams> {
    let now = chain.now().await?;
    let [o, w, t] = p.addrs;
    Ok(JobParams {
        outsourcer: o,
        worker: w,
        arbiter: t,
        commitDeadline: now + 1_000,
        payoutTime: now + 2_000,
        reward: 10u128.pow(17),
        bond: 5 * 10u128.pow(16),
        group: group_id(Address::repeat_byte(0xcc), &[w]),
        terms: opaque_terms("linear", B256::repeat_byte(tag)),
    })
}

fn gas(r: &TransactionReceipt) -> u64 {
    r.gas_used
}

fn ratio(ours: u64, paper: u64) -> String {
    format!("{:.3}", ours as f64 / paper as f64)
}

#[tokio::main]
async fn main() -> Result<()> {
    let node = anvil::Anvil::spawn().await?;
    let chain = Chain {
        url: node.url().to_string(),
        reader: ProviderBuilder::new()
            .connect_http(node.url().parse()?)
            .erased(),
    };
    let deployer = chain.wallet().await?;
    let deploy = FairPay::deploy_builder(deployer.clone())
        .send()
        .await?
        .get_receipt()
        .await?;
    let contract = deploy
        .contract_address
        .context("deployment has no contract address")?;

    let signers: Vec<PrivateKeySigner> = (0..3).map(|_| PrivateKeySigner::random()).collect();
    let mut clients = Vec::new();
    for s in &signers {
        let _: serde_json::Value = chain
            .reader
            .raw_request(
                "anvil_setBalance".into(),
                (s.address(), U256::from(10u128.pow(20))),
            )
            .await?;
        let p = bapay_fairpay::wallet_provider(&chain.url, s.clone())?;
        clients.push(FairPayClient::new(contract, p));
    }
    let mut it = clients.into_iter();
    let (o, w, t) = (
        it.next().context("o")?,
        it.next().context("w")?,
        it.next().context("t")?,
    );
    let p = Parties {
        o,
        w,
        t,
        addrs: [
            signers[0].address(),
            signers[1].address(),
            signers[2].address(),
        ],
    };

    // Honest job.
    let j = job(&chain, &p, 1).await?;
    let open = gas(&p.o.open(&j).await?);
    let commit = gas(&p.w.commit(&j, B256::repeat_byte(0xab)).await?);
    chain.warp_to(j.payoutTime).await?;
    let payout = gas(&p.w.payout(&j).await?);
    // Judged job.
    let j = job(&chain, &p, 2).await?;
    let open2 = gas(&p.o.open(&j).await?);
    let commit2 = gas(&p.w.commit(&j, B256::repeat_byte(0xab)).await?);
    let judge = gas(&p.t.judge(&j).await?);
    // Refund (worker never commits), for completeness.
    let j = job(&chain, &p, 3).await?;
    p.o.open(&j).await?;
    chain.warp_to(j.commitDeadline).await?;
    let refund = gas(&p.o.refund(&j).await?);

    let honest = open + commit + payout;
    let judged = open2 + commit2 + judge;
    let row = |op: &str, paper_op: &str, paper: Option<u64>, ours: u64| match paper {
        Some(pg) => println!(
            "| {op:<16} | {paper_op:<26} | {pg:>9} | {ours:>8} | {:>6} |",
            ratio(ours, pg)
        ),
        None => println!(
            "| {op:<16} | {paper_op:<26} | {:>9} | {ours:>8} | {:>6} |",
            "-", "-"
        ),
    };
    println!("FairPay gas per operation (receipt gasUsed, 21,000 base included; anvil, one long-lived contract)");
    println!("| FairPay op       | paper op (Table 1)         |     paper |  FairPay |  ratio |");
    println!("|------------------|----------------------------|-----------|----------|--------|");
    row(
        "open",
        "create + reward deposit",
        Some(PAPER_CREATE + PAPER_REWARD),
        open,
    );
    row("bond & commit", "bond deposit", Some(PAPER_BOND), commit);
    row("payout", "pay", Some(PAPER_PAY), payout);
    row(
        "judge",
        "judge + claim",
        Some(PAPER_JUDGE + PAPER_CLAIM),
        judge,
    );
    row("refund", "-", None, refund);
    row(
        "honest total",
        "create+reward+bond+pay",
        Some(PAPER_HONEST),
        honest,
    );
    row("judged total", "dispute total", Some(PAPER_DISPUTE), judged);
    println!(
        "deployment: {} gas, once for every job (not in the per-job figures; the paper deploys per job: create {})",
        deploy.gas_used, PAPER_CREATE
    );
    println!(
        "honest total: {honest} gas (paper {PAPER_HONEST}, ratio {})",
        ratio(honest, PAPER_HONEST)
    );
    println!(
        "judged total: {judged} gas (paper {PAPER_DISPUTE}, ratio {})",
        ratio(judged, PAPER_DISPUTE)
    );
    drop(node);
    Ok(())
}
