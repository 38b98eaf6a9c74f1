//! `GetDispute`: the stored record of one dispute; an unknown (or
//! malformed) id is NOT_FOUND.

use bapay_proto::arbiter::v1 as pb;

use crate::error::{ArbiterError, Result};
use crate::record;
use crate::service::Arbiter;

/// Handles GetDispute.
pub fn handle(a: &Arbiter, r: pb::GetDisputeRequest) -> Result<pb::GetDisputeResponse> {
    let id = r.dispute_id.to_ascii_lowercase();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ArbiterError::NotFound(r.dispute_id));
    }
    let (rec, _) = record::load(a.store.as_ref(), &id)?.ok_or(ArbiterError::NotFound(id))?;
    Ok(pb::GetDisputeResponse {
        dispute: Some(rec.to_proto()),
    })
}
