//! SendRawTransaction (relay a transaction a role signed, then wait for its
//! receipt by polling, bounded by the request's wait timeout) and GetReceipt.

use std::time::{Duration, Instant};

use bapay_proto::chain::v1 as pb;

use super::{convert, EthereumApi, EthereumNode};
use crate::error::{Error, Result};

const DEFAULT_WAIT_MS: u64 = 30_000;
const MAX_WAIT_MS: u64 = 600_000;

/// Handles `SendRawTransaction`.
pub async fn send_raw<E: EthereumNode>(
    api: &EthereumApi<E>,
    req: pb::SendRawTransactionRequest,
) -> Result<pb::SendRawTransactionResponse> {
    if req.raw_tx.is_empty() {
        return Err(Error::invalid("raw_tx is empty"));
    }
    let wait_ms = match req.wait_timeout_ms {
        0 => DEFAULT_WAIT_MS,
        ms if ms <= MAX_WAIT_MS => ms,
        ms => {
            return Err(Error::invalid(format!(
                "wait_timeout_ms {ms} above {MAX_WAIT_MS}"
            )))
        }
    };
    let hash = api.node.send_raw(req.raw_tx).await?;
    tracing::info!(%hash, "ethereum transaction sent");
    if req.no_wait {
        return Ok(pb::SendRawTransactionResponse {
            transaction_hash: hash.to_vec(),
            receipt: None,
        });
    }
    let deadline = Instant::now() + Duration::from_millis(wait_ms);
    loop {
        if let Some(r) = api.node.receipt(hash).await? {
            return Ok(pb::SendRawTransactionResponse {
                transaction_hash: hash.to_vec(),
                receipt: Some(convert::receipt(&r)),
            });
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout(format!(
                "no receipt for {hash} within {wait_ms} ms"
            )));
        }
        tokio::time::sleep(api.poll).await;
    }
}

/// Handles `GetReceipt`.
pub async fn get_receipt<E: EthereumNode>(
    api: &EthereumApi<E>,
    req: pb::GetReceiptRequest,
) -> Result<pb::GetReceiptResponse> {
    let hash = convert::b256("transaction_hash", &req.transaction_hash)?;
    match api.node.receipt(hash).await? {
        Some(r) => Ok(pb::GetReceiptResponse {
            receipt: Some(convert::receipt(&r)),
        }),
        None => Err(Error::NotFound(format!(
            "no receipt for {hash} (not mined)"
        ))),
    }
}
