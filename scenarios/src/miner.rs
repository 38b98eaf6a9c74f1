//! The test or demo as the miner: [`Net::advance`] follows a job and mines
//! a block (or moves anvil's clock) only when the job waits for one.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use bapay_proto::outsourcer::v1 as pb;

use crate::net::Net;

impl Net {
    /// Plays the miner for job `id` until `done(job)`: mines a block only
    /// while the job waits for one (its funding broadcast, a Redeem_i
    /// broadcast, or t and the claims), polling every 200 ms.
    pub async fn advance(
        &self,
        id: &[u8],
        timeout: Duration,
        done: impl Fn(&pb::Job) -> bool,
    ) -> Result<pb::Job> {
        let start = Instant::now();
        loop {
            let job = match self.job(id).await {
                Ok(j) => j,
                Err(e) if start.elapsed() < timeout => {
                    eprintln!("(retrying GetJob) {e:#}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if done(&job) {
                return Ok(job);
            }
            if start.elapsed() > timeout {
                bail!(
                    "job not done after {timeout:?}: {}\n--- outsourcer log ---\n{}",
                    bapay_cli::report::render(&job),
                    self.outsourcer.tail()
                );
            }
            self.mine_for(&job).await?;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Mines what `job` waits for, if anything (the Bitcoin conversion
    /// waits for nothing: see [`converting`]).
    pub async fn mine_for(&self, job: &pb::Job) -> Result<()> {
        use pb::{JobState as J, SlotState as S};
        let state = J::try_from(job.state).unwrap_or(J::Unspecified);
        let slot = |s: S| job.slots.iter().any(|x| x.state == s as i32);
        let all_signed =
            !job.slots.is_empty() && job.slots.iter().all(|x| x.state == S::FundingSigned as i32);
        let t = match job.payout.as_ref().and_then(|p| p.value) {
            Some(bapay_proto::common::v1::chain_time::Value::Height(h)) => h,
            _ => 0,
        };
        let ethereum = job.chain == bapay_proto::common::v1::Chain::Ethereum as i32;
        if ethereum {
            let t = match job.payout.as_ref().and_then(|p| p.value) {
                Some(bapay_proto::common::v1::chain_time::Value::UnixTime(u)) => u,
                _ => 0,
            };
            if state == J::AwaitingPayout {
                let url = self.adapter.url();
                let (_, now) = crate::eth::info(&url).await?;
                crate::eth::increase_time(&url, t.saturating_sub(now).max(1)).await?;
            }
            return Ok(());
        }
        match state {
            J::Funding if all_signed => self.mine(1).await,
            // A calculator gone, or an O that never collects: let the
            // chain reach the result deadline.
            J::Computing if slot(S::Escrowed) || slot(S::Working) => self.mine(1).await,
            // A sample that is not opened: let the chain reach O's limit.
            J::Verifying if slot(S::Committed) => self.mine(1).await,
            // Blocks confirm a Redeem_i, but while T still asks a silent
            // calculator (a FAULTY slot: wall time, T's response window)
            // they would only run the chain towards t under T's feet.
            J::Disputing if slot(S::Disputed) && !slot(S::Faulty) => self.mine(1).await,
            // O converts Pay_i -> Pay'_i: it needs time, not blocks (a
            // refused or disabled conversion says "not converted").
            J::AwaitingPayout if converting(job) => Ok(()),
            J::AwaitingPayout => {
                let tip = self.tip().await?;
                if tip < t {
                    self.mine((t - tip) as u32).await
                } else {
                    self.mine(1).await
                }
            }
            _ => Ok(()),
        }
    }
}

/// A Bitcoin job in AWAITING_PAYOUT with a slot O is still converting.
fn converting(job: &pb::Job) -> bool {
    job.slots.iter().any(|s| {
        s.state == pb::SlotState::Verified as i32 && !s.state_reason.starts_with("not converted")
    })
}
