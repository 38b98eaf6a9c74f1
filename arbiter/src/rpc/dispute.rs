//! `Dispute`: files O's dispute about one calculator slot with the
//! settlement of its chain ([`crate::dispute::file_request`]) and returns
//! the stored record: a new dispute decided at once, or the stored answer
//! of a repeat (see `crate::dispute` for the rules), with C_i's answer
//! when T rejected unresponsive evidence because C_i responded.

use bapay_proto::arbiter::v1 as pb;

use crate::service::Arbiter;
use crate::Result;

/// Handles Dispute.
pub async fn handle(a: &Arbiter, r: pb::DisputeRequest) -> Result<pb::DisputeResponse> {
    let rec = crate::dispute::file_request(a, r).await?;
    Ok(pb::DisputeResponse {
        dispute: Some(rec.to_proto()),
        answer: rec.answer(),
    })
}
