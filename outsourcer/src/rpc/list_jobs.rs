//! `ListJobs`: newest first, filtered by state and chain, paginated by an
//! opaque token (the offset, prefixed so foreign tokens are refused).

use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;

use bapay_daemon::ServiceError;

use crate::service::Outsourcer;
use crate::settlement;
use crate::Result;

const TOKEN_PREFIX: &str = "o1:";

/// Handles ListJobs.
pub fn handle(o: &Outsourcer, req: pb::ListJobsRequest) -> Result<pb::ListJobsResponse> {
    let size = match req.page_size {
        0 => 50,
        s @ 1..=500 => s as usize,
        s => {
            return Err(ServiceError::invalid(
                "page_size",
                format!("{s} not in 0..=500"),
            ))
        }
    };
    let offset = if req.page_token.is_empty() {
        0
    } else {
        req.page_token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| ServiceError::invalid("page_token", "not issued by this daemon"))?
    };
    match common::Chain::try_from(req.chain) {
        Ok(common::Chain::Unspecified | common::Chain::Bitcoin | common::Chain::Ethereum) => {}
        Err(_) => {
            return Err(ServiceError::invalid(
                "chain",
                format!("unknown chain {}", req.chain),
            ))
        }
    }
    for (i, s) in req.states.iter().enumerate() {
        if pb::JobState::try_from(*s).is_err() {
            return Err(ServiceError::invalid(
                &format!("states[{i}]"),
                format!("unknown state {s}"),
            ));
        }
    }
    let mut jobs = o.all()?;
    jobs.retain(|j| {
        (req.states.is_empty() || req.states.contains(&(j.state as i32)))
            && [0, settlement::chain_of(j) as i32].contains(&req.chain)
    });
    jobs.sort_by(|a, b| {
        b.created_ms
            .cmp(&a.created_ms)
            .then(a.job_id.cmp(&b.job_id))
    });
    let page: Vec<_> = jobs.iter().skip(offset).take(size).collect();
    let next = if offset + page.len() < jobs.len() {
        format!("{TOKEN_PREFIX}{}", offset + page.len())
    } else {
        String::new()
    };
    Ok(pb::ListJobsResponse {
        jobs: page
            .into_iter()
            .map(|j| pb::JobSummary {
                job_id: hex::decode(&j.job_id).unwrap_or_default(),
                request_id: j.request_id.clone(),
                chain: settlement::chain_of(j) as i32,
                state: j.state as i32,
                task_kind: j.task.kind().to_string(),
                calculator_count: j.slots.len() as u32,
                created_unix_ms: j.created_ms,
                updated_unix_ms: j.updated_ms,
            })
            .collect(),
        next_page_token: next,
    })
}
