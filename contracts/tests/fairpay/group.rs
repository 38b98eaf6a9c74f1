//! A collusion group with a known collusion key, for the trap tests: O, T,
//! the sybil worker S (O's accomplice: it springs the trap), honest workers,
//! and any extra member addresses (contracts), with jobs all timed from the
//! same block.

use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use anyhow::Result;
use bapay_fairpay::trap::{collusion_address, sign_trap, TrapSignature};
use bapay_fairpay::{group_id, job_id, JobParams};

use crate::common::{job, Env, Party, ETH};

/// The collusion secret of the test group (the sum of three message keys).
pub fn collusion_secret() -> Result<[u8; 32]> {
    let messages = [
        (b"m_1".to_vec(), [1u8; 32]),
        (b"m_2".to_vec(), [2u8; 32]),
        (b"m_3".to_vec(), [3u8; 32]),
    ];
    let r = [0x42u8; 32];
    Ok(
        bapay_core::keys::collusion_secret(bapay_core::keys::MSG_TAG, &messages, &r)?
            .secret_bytes(),
    )
}

/// One anvil and one collusion group: workers = [s, w.., extra..].
pub struct Group {
    pub env: Env,
    /// The outsourcer, 10 ETH.
    pub o: Party,
    /// The arbiter, 1 ETH.
    pub t: Party,
    /// The sybil worker who springs the trap, 1 ETH.
    pub s: Party,
    /// Honest workers, 1 ETH each.
    pub w: Vec<Party>,
    pub secret: [u8; 32],
    pub collusion: Address,
    pub workers: Vec<Address>,
    pub id: B256,
    /// The block time every job is timed from.
    pub now: u64,
}

impl Group {
    /// A fresh anvil with a group of S and `honest` honest workers.
    pub async fn new(honest: usize) -> Result<Self> {
        Self::on(Env::new().await?, honest, &[]).await
    }

    /// A group on `env` of S, `honest` honest workers and `extra` members.
    pub async fn on(env: Env, honest: usize, extra: &[Address]) -> Result<Self> {
        let o = env.party(10 * ETH).await?;
        let t = env.party(ETH).await?;
        let s = env.party(ETH).await?;
        let mut w = Vec::new();
        for _ in 0..honest {
            w.push(env.party(ETH).await?);
        }
        let secret = collusion_secret()?;
        let collusion = collusion_address(&secret)?;
        let mut workers = vec![s.address];
        workers.extend(w.iter().map(|p| p.address));
        workers.extend_from_slice(extra);
        let id = group_id(collusion, &workers);
        let now = env.now().await?;
        Ok(Group {
            env,
            o,
            t,
            s,
            w,
            secret,
            collusion,
            workers,
            id,
            now,
        })
    }

    /// A job of this group for `worker`, with terms `repeat_byte(tag)`.
    pub fn job(&self, worker: Address, tag: u8) -> JobParams {
        self.job_with_terms(worker, B256::repeat_byte(tag))
    }

    /// A job of this group for `worker` with the given terms.
    pub fn job_with_terms(&self, worker: Address, terms: B256) -> JobParams {
        job(
            self.o.address,
            worker,
            self.t.address,
            self.id,
            terms,
            self.now,
        )
    }

    /// The collusion key's trap signature for `recipient`.
    pub fn sig(&self, recipient: Address) -> Result<TrapSignature> {
        Ok(sign_trap(
            &self.secret,
            self.env.chain_id,
            self.env.contract,
            self.id,
            recipient,
        )?)
    }

    /// S springs the trap; its receipt.
    pub async fn trap(&self) -> Result<TransactionReceipt> {
        let sig = self.sig(self.s.address)?;
        Ok(self
            .s
            .fairpay
            .trap(self.collusion, self.workers.clone(), sig)
            .await?)
    }

    /// `state[job_id(j)]`.
    pub async fn state(&self, j: &JobParams) -> Result<B256> {
        Ok(self.o.fairpay.state(job_id(j)).await?)
    }

    /// The contract's ether.
    pub async fn escrow(&self) -> Result<u128> {
        self.env.balance(self.env.contract).await
    }

    /// Overwrites `state[job_id(j)]` with `value` (anvil_setStorageAt; the
    /// mapping is FairPay's slot 0), after checking the slot holds `expect`.
    pub async fn poke_state(&self, j: &JobParams, expect: B256, value: B256) -> Result<()> {
        let slot = keccak256([job_id(j).as_slice(), &[0u8; 32]].concat());
        let held = self
            .env
            .reader
            .get_storage_at(self.env.contract, slot.into())
            .await?;
        anyhow::ensure!(
            B256::from(held) == expect,
            "state slot holds {held}, not {expect}"
        );
        let _: serde_json::Value = self
            .env
            .reader
            .raw_request(
                "anvil_setStorageAt".into(),
                (self.env.contract, U256::from_be_bytes(slot.0), value),
            )
            .await?;
        anyhow::ensure!(self.state(j).await? == value, "poke did not land");
        Ok(())
    }
}
