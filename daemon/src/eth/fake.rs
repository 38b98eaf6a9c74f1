//! [`FakeEth`]: an in-memory [`EthChain`] for unit tests (settable block
//! time, FairPay job states and traps; it "mines" every sent transaction
//! with a settable outcome and records it). Several daemons of one test
//! share one fake chain through [`FakeEth::account`]; with
//! [`FakeEth::simulate_fairpay`] the fake also applies what each FairPay
//! call does to the job states (open, commit, payout, judge, refund,
//! disputeSearch, trap, claimTrapped, challenge, respond, respondSearch,
//! claimUnanswered), so a whole job can run on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::sol_types::SolInterface;
use bapay_fairpay::FairPay::FairPayCalls;

use super::{EthChain, EthError, EthLog, EthResult, Receipt, SignedTx};

/// A transaction the fake "mined".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTx {
    /// Sender.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Value, wei.
    pub value: U256,
    /// Calldata.
    pub data: Vec<u8>,
    /// Its hash.
    pub hash: B256,
}

/// An in-memory [`EthChain`] for unit tests: one account on a shared
/// fake chain.
#[derive(Debug, Clone)]
pub struct FakeEth {
    chain: Arc<Mutex<FakeInner>>,
    address: Address,
}

impl Default for FakeEth {
    fn default() -> Self {
        FakeEth {
            chain: Arc::default(),
            address: Address::ZERO,
        }
    }
}

#[derive(Debug, Default)]
struct FakeInner {
    chain_id: u64,
    time: u64,
    block: u64,
    states: HashMap<B256, B256>,
    traps: HashMap<B256, Address>,
    challenges: HashMap<B256, U256>,
    nonces: HashMap<Address, u64>,
    signed: HashMap<B256, FakeTx>,
    mined: HashMap<B256, bool>,
    sent: Vec<FakeTx>,
    logs: Vec<EthLog>,
    revert_sends: bool,
    simulate: bool,
    down: bool,
}

/// What a FairPay call does to the fake's job states; `false`: it reverts.
/// The same state machine as FairPay.sol: OPEN, the committed root, and in
/// a trapped group BOND_LEFT / REWARD_LEFT (the trap takes rewards only).
fn apply(g: &mut FakeInner, tx: &FakeTx) -> bool {
    use bapay_fairpay::{is_root, STATE_BOND_LEFT, STATE_OPEN, STATE_REWARD_LEFT};
    let Ok(call) = FairPayCalls::abi_decode(&tx.data) else {
        return true;
    };
    let id = |j: &bapay_fairpay::JobParams| bapay_fairpay::job_id(j);
    let state = |g: &FakeInner, j| g.states.get(&id(j)).copied().unwrap_or_default();
    let trapped = |g: &FakeInner, j: &bapay_fairpay::JobParams| g.traps.contains_key(&j.group);
    // (a challenge is pending, its deadline)
    let pending = |g: &FakeInner, j: &bapay_fairpay::JobParams| {
        let v = g.challenges.get(&id(j)).copied().unwrap_or_default();
        match bapay_fairpay::challenge_state(v) {
            bapay_fairpay::ChallengeState::Pending { deadline, .. } => (true, deadline),
            _ => (false, 0),
        }
    };
    match call {
        FairPayCalls::open(c) if state(g, &c.job) == B256::ZERO => {
            g.states.insert(id(&c.job), STATE_OPEN);
        }
        FairPayCalls::commit(c)
            if state(g, &c.job) == STATE_OPEN
                && g.time < c.job.commitDeadline
                && is_root(c.root)
                && !trapped(g, &c.job) =>
        {
            g.states.insert(id(&c.job), c.root);
        }
        FairPayCalls::payout(c) if g.time >= c.job.payoutTime => {
            let st = state(g, &c.job);
            match (trapped(g, &c.job), st) {
                (false, s) if is_root(s) && !pending(g, &c.job).0 => {
                    g.states.remove(&id(&c.job));
                }
                (true, s) if is_root(s) => {
                    g.states.insert(id(&c.job), STATE_REWARD_LEFT);
                }
                (true, s) if s == STATE_BOND_LEFT => {
                    g.states.remove(&id(&c.job));
                }
                _ => return false,
            }
        }
        FairPayCalls::judge(c)
            if is_root(state(g, &c.job)) && !trapped(g, &c.job) && g.time < c.job.payoutTime =>
        {
            g.states.remove(&id(&c.job));
        }
        FairPayCalls::refund(c)
            if state(g, &c.job) == STATE_OPEN
                && g.time >= c.job.commitDeadline
                && !trapped(g, &c.job) =>
        {
            g.states.remove(&id(&c.job));
        }
        FairPayCalls::disputeSearch(c) if is_root(state(g, &c.job)) && !trapped(g, &c.job) => {
            g.states.remove(&id(&c.job));
        }
        FairPayCalls::challenge(c)
            if is_root(state(g, &c.job))
                && !trapped(g, &c.job)
                && !g.challenges.contains_key(&id(&c.job)) =>
        {
            let v = (U256::from(0x5eed_u64) << 64) | U256::from(g.time + c.a.window);
            g.challenges.insert(id(&c.job), v);
        }
        FairPayCalls::respond(c) if pending(g, &c.job).0 && g.time < pending(g, &c.job).1 => {
            g.challenges
                .insert(id(&c.job), bapay_fairpay::CHALLENGE_CLOSED);
        }
        FairPayCalls::respondSearch(c) if pending(g, &c.job).0 && g.time < pending(g, &c.job).1 => {
            g.challenges
                .insert(id(&c.job), bapay_fairpay::CHALLENGE_CLOSED);
        }
        FairPayCalls::claimUnanswered(c)
            if pending(g, &c.job).0 && g.time >= pending(g, &c.job).1 =>
        {
            g.challenges
                .insert(id(&c.job), bapay_fairpay::CHALLENGE_CLOSED);
            if !trapped(g, &c.job) {
                g.states.remove(&id(&c.job));
            }
        }
        FairPayCalls::trap(c) => {
            let group = bapay_fairpay::group_id(c.collusion, &c.workers);
            if g.traps.contains_key(&group) {
                return false;
            }
            g.traps.insert(group, tx.from);
        }
        FairPayCalls::claimTrapped(c) => {
            if c.jobs
                .iter()
                .any(|j| g.traps.get(&j.group) != Some(&tx.from))
            {
                return false;
            }
            // In order, all or nothing (a revert undoes the batch).
            let mut states = g.states.clone();
            for j in &c.jobs {
                let st = states.get(&id(j)).copied().unwrap_or_default();
                if st == STATE_OPEN || st == STATE_REWARD_LEFT {
                    states.remove(&id(j));
                } else if is_root(st) {
                    states.insert(id(j), STATE_BOND_LEFT);
                } else {
                    return false;
                }
            }
            g.states = states;
        }
        _ => return false,
    }
    true
}

impl FakeEth {
    fn lock(&self) -> std::sync::MutexGuard<'_, FakeInner> {
        self.chain.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// A fake chain with this id and block time (account: the zero
    /// address).
    pub fn new(chain_id: u64, time: u64) -> Self {
        let f = FakeEth::default();
        {
            let mut g = f.lock();
            g.chain_id = chain_id;
            g.time = time;
        }
        f
    }
    /// Another account on the same chain.
    pub fn account(&self, address: Address) -> Self {
        FakeEth {
            chain: self.chain.clone(),
            address,
        }
    }
    /// Sets the address this handle signs for.
    pub fn set_address(&mut self, a: Address) {
        self.address = a;
    }
    /// Makes every send apply the FairPay call it carries to the job
    /// states (a call whose rule fails reverts).
    pub fn simulate_fairpay(&self) {
        self.lock().simulate = true;
    }
    /// Sets the latest block time.
    pub fn set_time(&self, t: u64) {
        self.lock().time = t;
    }
    /// The latest block time.
    pub fn time(&self) -> u64 {
        self.lock().time
    }
    /// Sets `state(id)`.
    pub fn set_state(&self, id: B256, v: B256) {
        self.lock().states.insert(id, v);
    }
    /// Traps `group` to `to`.
    pub fn set_trap(&self, group: B256, to: Address) {
        self.lock().traps.insert(group, to);
    }
    /// Makes later sends revert (receipt `success = false`).
    pub fn set_revert_sends(&self, revert: bool) {
        self.lock().revert_sends = revert;
    }
    /// Makes every call fail as if the adapter were unreachable.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }
    /// Adds a log [`EthChain::first_log`] finds.
    pub fn push_log(&self, log: EthLog) {
        self.lock().logs.push(log);
    }
    /// Every transaction sent (one entry per send, resends included).
    pub fn sent(&self) -> Vec<FakeTx> {
        self.lock().sent.clone()
    }
    fn up(&self) -> EthResult<std::sync::MutexGuard<'_, FakeInner>> {
        let g = self.lock();
        if g.down {
            return Err(EthError::Adapter("unreachable (fake)".into()));
        }
        Ok(g)
    }
}

#[tonic::async_trait]
impl EthChain for FakeEth {
    fn address(&self) -> Address {
        self.address
    }
    async fn chain_time(&self) -> EthResult<(u64, u64)> {
        let g = self.up()?;
        Ok((g.chain_id, g.time))
    }
    async fn state(&self, _contract: Address, id: B256) -> EthResult<B256> {
        Ok(self.up()?.states.get(&id).copied().unwrap_or_default())
    }
    async fn trapped_to(&self, _contract: Address, group: B256) -> EthResult<Address> {
        Ok(self.up()?.traps.get(&group).copied().unwrap_or_default())
    }
    async fn challenges(&self, _contract: Address, id: B256) -> EthResult<U256> {
        Ok(self.up()?.challenges.get(&id).copied().unwrap_or_default())
    }
    async fn sign_next(&self, to: Address, value: U256, data: Vec<u8>) -> EthResult<SignedTx> {
        let mut g = self.up()?;
        let nonce = g.nonces.get(&self.address).copied().unwrap_or(0);
        g.nonces.insert(self.address, nonce + 1);
        let mut pre = data.clone();
        pre.extend(self.address.as_slice());
        pre.extend(nonce.to_be_bytes());
        let hash = keccak256(&pre);
        g.signed.insert(
            hash,
            FakeTx {
                from: self.address,
                to,
                value,
                data,
                hash,
            },
        );
        Ok(SignedTx {
            raw_hex: hex::encode(pre),
            hash,
            nonce,
        })
    }
    async fn send_signed(&self, tx: &SignedTx) -> EthResult<Receipt> {
        let mut g = self.up()?;
        let sent = g
            .signed
            .get(&tx.hash)
            .cloned()
            .ok_or_else(|| EthError::Adapter("unknown transaction (fake)".into()))?;
        g.sent.push(sent.clone());
        let success = match g.mined.get(&tx.hash) {
            Some(ok) => *ok,
            None => {
                let ok = !g.revert_sends && (!g.simulate || apply(&mut g, &sent));
                g.block += 1;
                g.mined.insert(tx.hash, ok);
                ok
            }
        };
        Ok(Receipt {
            hash: tx.hash,
            success,
            block_number: g.block.max(1),
            gas_used: 21_000,
            effective_gas_price: U256::from(1),
        })
    }
    async fn receipt(&self, hash: B256) -> EthResult<Option<Receipt>> {
        let g = self.up()?;
        Ok(g.mined.get(&hash).map(|&success| Receipt {
            hash,
            success,
            block_number: g.block.max(1),
            gas_used: 21_000,
            effective_gas_price: U256::from(1),
        }))
    }
    async fn first_log(
        &self,
        _c: Address,
        topics: Vec<B256>,
        from: u64,
    ) -> EthResult<Option<EthLog>> {
        let g = self.up()?;
        let hit = |l: &&EthLog| l.block_number >= from && l.topics.starts_with(&topics);
        Ok(g.logs.iter().find(hit).cloned())
    }
}
