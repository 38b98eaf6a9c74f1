//! One handler per `OutsourcerService` RPC.

pub mod cancel_job;
pub mod get_info;
pub mod get_job;
pub mod list_jobs;
pub mod submit_job;
pub mod watch_job;

use bapay_daemon::ServiceError;

use crate::Result;

/// A 32-byte job id as the store key (hex).
pub fn job_key(job_id: &[u8]) -> Result<String> {
    if job_id.len() != 32 {
        return Err(ServiceError::invalid(
            "job_id",
            format!("{} bytes, want 32", job_id.len()),
        ));
    }
    Ok(hex::encode(job_id))
}
