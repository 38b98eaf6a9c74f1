//! Follows a job with WatchJob until it is terminal, printing one line per
//! event (and reconnecting from the last sequence if the stream breaks).

use std::time::Duration;

use anyhow::{bail, Result};
use bapay_proto::outsourcer::v1 as pb;
use bapay_proto::outsourcer::v1::outsourcer_service_client::OutsourcerServiceClient;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

/// Watches `job_id` to its end and returns the final job. `print` receives
/// each progress line.
pub async fn watch(
    client: &mut OutsourcerServiceClient<Channel>,
    job_id: &[u8],
    timeout: Duration,
    mut print: impl FnMut(&str),
) -> Result<pb::Job> {
    let start = std::time::Instant::now();
    let mut after = 0;
    loop {
        if start.elapsed() > timeout {
            bail!("job {} not settled after {timeout:?}", hex::encode(job_id));
        }
        let stream = client
            .watch_job(pb::WatchJobRequest {
                job_id: job_id.to_vec(),
                after_sequence: after,
            })
            .await;
        let mut stream = match stream {
            Ok(s) => s.into_inner(),
            Err(e) if e.code() == tonic::Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Err(e) => bail!("WatchJob: {:?}: {}", e.code(), e.message()),
        };
        let mut terminal = false;
        loop {
            let next =
                tokio::time::timeout(timeout.saturating_sub(start.elapsed()), stream.next()).await;
            match next {
                Err(_) => bail!("job {} not settled after {timeout:?}", hex::encode(job_id)),
                Ok(None) | Ok(Some(Err(_))) => break,
                Ok(Some(Ok(e))) => {
                    after = e.sequence;
                    let who = e
                        .calculator_index
                        .map(|i| format!("C{i} "))
                        .unwrap_or_default();
                    print(&format!(
                        "[{:>3}] {:<16} {who}{}",
                        e.sequence,
                        crate::report::job_state(e.state),
                        e.description
                    ));
                    terminal = matches!(
                        pb::JobState::try_from(e.state),
                        Ok(pb::JobState::Completed
                            | pb::JobState::Cancelled
                            | pb::JobState::Failed)
                    );
                }
            }
        }
        // The server ends the stream after the terminal state's events.
        if terminal {
            let last = client
                .get_job(pb::GetJobRequest {
                    job_id: job_id.to_vec(),
                })
                .await?
                .into_inner();
            if let Some(j) = last.job {
                return Ok(j);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
