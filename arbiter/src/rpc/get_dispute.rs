//! `GetDispute`: the stored record of one dispute; an unknown (or
//! malformed) id is NOT_FOUND.

use bapay_daemon::ServiceError;
use bapay_proto::arbiter::v1 as pb;

use crate::record;
use crate::service::Arbiter;
use crate::Result;

/// Handles GetDispute.
pub fn handle(a: &Arbiter, r: pb::GetDisputeRequest) -> Result<pb::GetDisputeResponse> {
    let id = r.dispute_id.to_ascii_lowercase();
    let unknown = || ServiceError::not_found(format!("no dispute {}", r.dispute_id));
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(unknown());
    }
    let (rec, _) = record::load(a.store.as_ref(), &id)?.ok_or_else(unknown)?;
    Ok(pb::GetDisputeResponse {
        dispute: Some(rec.to_proto()),
    })
}
