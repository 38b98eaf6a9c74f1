//! `make gas`: FairPay's gas per operation next to the paper's Table 1.
//!
//! Deploys FairPay on a fresh anvil, runs one honest job (open, bond & commit,
//! payout), one judged job (open, bond & commit, judge), a refund, and a
//! trapped group (trap; claimTrapped of a committed, an open and a
//! REWARD_LEFT job; the bond-only payout from a committed and a BOND_LEFT
//! job) with real transactions, and prints one table of receipt gas (base
//! cost included) beside the Ethereum paper's figures. Table 1 lists no
//! trap operation, so the trap rows have no paper figure; the trapped
//! job's total is compared with the honest total of the same run instead.
//! Deployment is a one-off shared by every job and is reported separately,
//! outside the per-job totals.

#[path = "../../tests/common/anvil.rs"]
mod anvil;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result};
use bapay_fairpay::job::opaque_terms;
use bapay_fairpay::trap::{collusion_address, sign_trap};
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

/// Any valid secp256k1 scalar: the trapped group's collusion secret.
const COLLUSION_SECRET: [u8; 32] = [0x5a; 32];

struct Parties {
    o: FairPayClient<DynProvider>,
    w: FairPayClient<DynProvider>,
    t: FairPayClient<DynProvider>,
    /// A second worker of the trapped group, who springs the trap.
    s: FairPayClient<DynProvider>,
    addrs: [Address; 4],
}

/// A job of the untrapped group [w].
async fn job(chain: &Chain, p: &Parties, tag: u8) -> Result<JobParams> {
    let group = group_id(Address::repeat_byte(0xcc), &[p.addrs[1]]);
    job_in(chain, p, tag, group).await
}

async fn job_in(chain: &Chain, p: &Parties, tag: u8, group: B256) -> Result<JobParams> {
    let now = chain.now().await?;
    let [o, w, t, _] = p.addrs;
    Ok(JobParams {
        outsourcer: o,
        worker: w,
        arbiter: t,
        commitDeadline: now + 1_000,
        payoutTime: now + 2_000,
        reward: 10u128.pow(17),
        bond: 5 * 10u128.pow(16),
        group,
        terms: opaque_terms("linear", B256::repeat_byte(tag)),
        audit: bapay_fairpay::audit_hash(&audit()),
    })
}

/// Leaves of the audited tree: a linear sub-task of 1,024 rows.
const AUDIT_LEAVES: u64 = 1024;

/// The audit of every job here: 16 positions of AUDIT_LEAVES, 100 s,
/// 0.001 ETH.
fn audit() -> bapay_fairpay::AuditParams {
    bapay_fairpay::AuditParams {
        leafCount: AUDIT_LEAVES,
        samples: 16,
        window: 100,
        deposit: 10u128.pow(15),
        search: false,
    }
}

/// W's audited tree (16-byte leaves, as a linear result's).
fn audit_tree() -> Result<bapay_core::merkle::MerkleTree> {
    let leaf = |j: u64| [j.to_be_bytes(), (j ^ 0x55).to_be_bytes()].concat();
    Ok(bapay_core::merkle::MerkleTree::from_leaves(
        (0..AUDIT_LEAVES).map(leaf),
    )?)
}

/// Gas of the on-chain challenge: challenge, an honest respond, and
/// claimUnanswered of a silent worker's job.
struct ChallengeGas {
    challenge: u64,
    respond: u64,
    claim: u64,
}

async fn challenged(chain: &Chain, p: &Parties) -> Result<ChallengeGas> {
    let a = audit();
    let tree = audit_tree()?;
    let root = B256::from(*tree.root().as_bytes());
    let j = job(chain, p, 7).await?;
    p.o.open(&j).await?;
    p.w.commit(&j, root).await?;
    let challenge = gas(&p.o.challenge(&j, &a, B256::repeat_byte(1)).await?);
    let bapay_fairpay::ChallengeState::Pending { seed, .. } =
        p.o.challenge_state(bapay_fairpay::job_id(&j)).await?
    else {
        anyhow::bail!("challenge not pending");
    };
    let leaf = |j: u64| [j.to_be_bytes(), (j ^ 0x55).to_be_bytes()].concat();
    let mut leaves = Vec::new();
    let mut proofs = Vec::new();
    for pos in bapay_fairpay::positions(seed, &a) {
        leaves.push(alloy::primitives::Bytes::from(leaf(pos)));
        let pr = tree.proof(pos)?;
        proofs.push(
            pr.siblings
                .iter()
                .map(|h| B256::from(*h.as_bytes()))
                .collect(),
        );
    }
    let respond = gas(&p.w.respond(&j, &a, leaves, proofs).await?);
    let k = job(chain, p, 8).await?;
    p.o.open(&k).await?;
    p.w.commit(&k, root).await?;
    p.o.challenge(&k, &a, B256::repeat_byte(2)).await?;
    chain.warp_to(chain.now().await? + a.window).await?;
    let claim = gas(&p.o.claim_unanswered(&k, &a).await?);
    Ok(ChallengeGas {
        challenge,
        respond,
        claim,
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

    let signers: Vec<PrivateKeySigner> = (0..4).map(|_| PrivateKeySigner::random()).collect();
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
    let (o, w, t, s) = (
        it.next().context("o")?,
        it.next().context("w")?,
        it.next().context("t")?,
        it.next().context("s")?,
    );
    let p = Parties {
        o,
        w,
        t,
        s,
        addrs: [
            signers[0].address(),
            signers[1].address(),
            signers[2].address(),
            signers[3].address(),
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
    let trap = trapped_group(&chain, &p, contract).await?;
    let ch = challenged(&chain, &p).await?;

    let honest = open + commit + payout;
    let judged = open2 + commit2 + judge;
    // One trapped job, either order (open and commit cost as in the honest job).
    let trapped_claim_first = open + commit + trap.claim_committed + trap.bond_after_claim;
    let trapped_bond_first = open + commit + trap.bond_first + trap.claim_reward_left;
    let row = |op: &str, paper_op: &str, paper: Option<u64>, ours: u64| match paper {
        Some(pg) => println!(
            "| {op:<29} | {paper_op:<26} | {pg:>9} | {ours:>8} | {:>6} |",
            ratio(ours, pg)
        ),
        None => println!(
            "| {op:<29} | {paper_op:<26} | {:>9} | {ours:>8} | {:>6} |",
            "-", "-"
        ),
    };
    println!("FairPay gas per operation (receipt gasUsed, 21,000 base included; anvil, one long-lived contract)");
    println!("| FairPay op                    | paper op (Table 1)         |     paper |  FairPay |  ratio |");
    println!("|-------------------------------|----------------------------|-----------|----------|--------|");
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
    row("trap (once per group)", "-", None, trap.trap);
    row(
        "claimTrapped root->BOND_LEFT",
        "-",
        None,
        trap.claim_committed,
    );
    row("claimTrapped OPEN->0", "-", None, trap.claim_open);
    row(
        "claimTrapped REWARD_LEFT->0",
        "-",
        None,
        trap.claim_reward_left,
    );
    row("payout bond root->REWARD_LEFT", "-", None, trap.bond_first);
    row("payout bond BOND_LEFT->0", "-", None, trap.bond_after_claim);
    row("challenge (16 of 1,024)", "-", None, ch.challenge);
    row("respond (16 leaves+proofs)", "-", None, ch.respond);
    row("claimUnanswered", "-", None, ch.claim);
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
    println!(
        "trapped job (open + bond & commit + claimTrapped + bond-only payout): \
         {trapped_claim_first} gas claim first, {trapped_bond_first} gas bond first \
         (honest total of this run {honest}, ratios {} and {}; the trap itself, once per group, not included)",
        ratio(trapped_claim_first, honest),
        ratio(trapped_bond_first, honest)
    );
    let a = audit();
    println!(
        "challenged honest job (honest total + challenge + respond): {} gas, ratio {} to the honest total; \
         W's respond costs {} gas, covered by O's {} wei deposit up to {} gwei/gas",
        honest + ch.challenge + ch.respond,
        ratio(honest + ch.challenge + ch.respond, honest),
        ch.respond,
        a.deposit,
        a.deposit / u128::from(ch.respond) / 1_000_000_000
    );
    println!(
        "silent worker (open + bond & commit + challenge + claimUnanswered): {} gas, ratio {} to the judged total",
        open + commit + ch.challenge + ch.claim,
        ratio(open + commit + ch.challenge + ch.claim, judged)
    );
    drop(node);
    Ok(())
}

/// Gas of the trap paths, one transaction (and one job) each.
struct TrapGas {
    trap: u64,
    claim_committed: u64,
    claim_open: u64,
    claim_reward_left: u64,
    bond_first: u64,
    bond_after_claim: u64,
}

/// A group [w, s] with three jobs of w: a and b committed, c only opened.
/// s springs the trap, claims a (root -> BOND_LEFT) and c (OPEN -> 0); at
/// t w takes a's bond (BOND_LEFT -> 0) and b's (root -> REWARD_LEFT), then
/// s claims b (REWARD_LEFT -> 0).
async fn trapped_group(chain: &Chain, p: &Parties, contract: Address) -> Result<TrapGas> {
    let collusion = collusion_address(&COLLUSION_SECRET)?;
    let workers = vec![p.addrs[1], p.addrs[3]];
    let group = group_id(collusion, &workers);
    let a = job_in(chain, p, 4, group).await?;
    let b = job_in(chain, p, 5, group).await?;
    let c = job_in(chain, p, 6, group).await?;
    for j in [&a, &b, &c] {
        p.o.open(j).await?;
    }
    p.w.commit(&a, B256::repeat_byte(0xab)).await?;
    p.w.commit(&b, B256::repeat_byte(0xab)).await?;
    let chain_id = chain.reader.get_chain_id().await?;
    let sig = sign_trap(&COLLUSION_SECRET, chain_id, contract, group, p.addrs[3])?;
    let trap = gas(&p.s.trap(collusion, workers, sig).await?);
    let claim_committed = gas(&p.s.claim_trapped(vec![a.clone()]).await?);
    let claim_open = gas(&p.s.claim_trapped(vec![c]).await?);
    chain.warp_to(a.payoutTime).await?;
    let bond_after_claim = gas(&p.w.payout(&a).await?);
    let bond_first = gas(&p.w.payout(&b).await?);
    let claim_reward_left = gas(&p.s.claim_trapped(vec![b]).await?);
    Ok(TrapGas {
        trap,
        claim_committed,
        claim_open,
        claim_reward_left,
        bond_first,
        bond_after_claim,
    })
}
