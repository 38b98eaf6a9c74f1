//! `GetJob`: the full record of one job with its money report.

use bapay_proto::outsourcer::v1 as pb;

use crate::service::Outsourcer;
use crate::view;
use crate::Result;

/// Handles GetJob.
pub fn handle(o: &Outsourcer, req: pb::GetJobRequest) -> Result<pb::GetJobResponse> {
    let (rec, _) = o.get(&super::job_key(&req.job_id)?)?;
    Ok(pb::GetJobResponse {
        job: Some(view::job(&rec)),
    })
}
