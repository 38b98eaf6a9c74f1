//! `SignConversion` (Bitcoin only): [`crate::settlement::bitcoin::conversion`].

use bapay_proto::calculator::v1 as pb;

use crate::service::Calculator;
use crate::Result;

/// Handles SignConversion.
pub async fn handle(
    c: &Calculator,
    req: pb::SignConversionRequest,
) -> Result<pb::SignConversionResponse> {
    crate::settlement::bitcoin::conversion::sign(c, req).await
}
