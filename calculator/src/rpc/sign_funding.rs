//! `SignFunding` (Bitcoin only): [`crate::settlement::bitcoin::funding`].

use bapay_proto::calculator::v1 as pb;

use crate::service::Calculator;
use crate::Result;

/// Handles SignFunding.
pub async fn handle(
    c: &Calculator,
    req: pb::SignFundingRequest,
) -> Result<pb::SignFundingResponse> {
    crate::settlement::bitcoin::funding::sign(c, req).await
}
