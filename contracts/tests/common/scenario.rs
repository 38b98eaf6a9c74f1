//! The standard job setup shared by the path tests: a fresh anvil with
//! FairPay, three parties holding exactly 1 ETH each, and one job between
//! them timed from the latest block; plus the open/commit steps.

use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::TransactionReceipt;
use anyhow::Result;
use bapay_fairpay::{Error, FairPay::FairPayErrors, JobParams};

use super::{job, Env, Party, ETH};

/// Group of the standard job.
pub const GROUP: B256 = B256::repeat_byte(1);
/// Terms of the standard job.
pub const TERMS: B256 = B256::repeat_byte(2);

impl Env {
    /// Three fresh wallets holding exactly 1 ETH each.
    pub async fn three_parties(&self) -> Result<(Party, Party, Party)> {
        Ok((
            self.party(ETH).await?,
            self.party(ETH).await?,
            self.party(ETH).await?,
        ))
    }

    /// The standard job (`GROUP`, `TERMS`) between three addresses, timed
    /// from the latest block.
    pub async fn standard_job(&self, o: Address, w: Address, t: Address) -> Result<JobParams> {
        Ok(job(o, w, t, GROUP, TERMS, self.now().await?))
    }
}

/// One anvil, outsourcer `o`, worker `w`, arbiter `t` (1 ETH each) and `job`
/// between them, timed from `now` (the latest block when it was built).
pub struct Scenario {
    pub env: Env,
    pub o: Party,
    pub w: Party,
    pub t: Party,
    pub job: JobParams,
    pub now: u64,
}

impl Scenario {
    /// The standard job (`GROUP`, `TERMS`), not opened yet.
    pub async fn new() -> Result<Self> {
        Self::with(GROUP, TERMS).await
    }

    /// A job with the given group and terms, not opened yet.
    pub async fn with(group: B256, terms: B256) -> Result<Self> {
        let env = Env::new().await?;
        let (o, w, t) = env.three_parties().await?;
        let now = env.now().await?;
        let job = job(o.address, w.address, t.address, group, terms, now);
        Ok(Scenario {
            env,
            o,
            w,
            t,
            job,
            now,
        })
    }

    /// Another job between the same parties, timed from the latest block.
    pub async fn another_job(&self, group: B256, terms: B256) -> Result<JobParams> {
        let now = self.env.now().await?;
        Ok(job(
            self.o.address,
            self.w.address,
            self.t.address,
            group,
            terms,
            now,
        ))
    }

    /// O opens the job (pays the reward); its receipt.
    pub async fn open(&self) -> Result<TransactionReceipt> {
        Ok(self.o.fairpay.open(&self.job).await?)
    }

    /// W commits `root` (pays the bond); its receipt.
    pub async fn commit(&self, root: B256) -> Result<TransactionReceipt> {
        Ok(self.w.fairpay.commit(&self.job, root).await?)
    }

    /// Builder step: the job opened.
    pub async fn opened(self) -> Result<Self> {
        self.open().await?;
        Ok(self)
    }

    /// Builder step: the job committed to `root` (open it first).
    pub async fn committed(self, root: B256) -> Result<Self> {
        self.commit(root).await?;
        Ok(self)
    }
}

/// `by` opens `j` sending `wei` (not necessarily the reward).
pub async fn open_paying(
    by: &Party,
    j: &JobParams,
    wei: u128,
) -> Result<TransactionReceipt, Error> {
    let call = by.fairpay.instance().open(j.clone()).value(U256::from(wei));
    send_call(call).await
}

/// `by` commits `root` for `j` sending `wei` (not necessarily the bond).
pub async fn commit_paying(
    by: &Party,
    j: &JobParams,
    root: B256,
    wei: u128,
) -> Result<TransactionReceipt, Error> {
    let call = by
        .fairpay
        .instance()
        .commit(j.clone(), root)
        .value(U256::from(wei));
    send_call(call).await
}

/// Sends a raw call builder through the crate's error decoding.
pub async fn send_call<P, D>(
    call: alloy::contract::CallBuilder<P, D>,
) -> Result<TransactionReceipt, Error>
where
    P: alloy::providers::Provider,
    D: alloy::contract::CallDecoder,
{
    match call.send().await {
        Ok(pending) => Ok(pending.get_receipt().await?),
        Err(e) => Err(match e.as_decoded_interface_error::<FairPayErrors>() {
            Some(d) => Error::Reverted(d),
            None => Error::Contract(e),
        }),
    }
}
