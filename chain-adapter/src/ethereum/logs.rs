//! WatchLogs: a server stream of logs by contract address and topics,
//! historic ones from `from_block` first, then new blocks as they come
//! (polled with eth_getLogs over block ranges). With `to_block` the stream
//! ends once past it (a bounded query); without, it never ends on its own
//! and the client cancels it.

use alloy::rpc::types::Filter;
use bapay_proto::chain::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{convert, EthereumApi, EthereumNode};
use crate::error::{Error, Result};

/// The stream type of `WatchLogs`.
pub type LogStream = ReceiverStream<std::result::Result<pb::EthLog, Status>>;

/// Consecutive failed polls tolerated before the stream ends with the error.
const MAX_FAILURES: u32 = 20;
/// Widest block range per eth_getLogs.
const MAX_RANGE: u64 = 2_000;

/// Handles `WatchLogs`.
pub async fn start<E: EthereumNode>(
    api: &EthereumApi<E>,
    req: pb::WatchLogsRequest,
) -> Result<LogStream> {
    if req.topics.len() > 4 {
        return Err(Error::invalid("at most 4 topics"));
    }
    let mut filter = Filter::new();
    if !req.address.is_empty() {
        filter = filter.address(convert::address("address", &req.address)?);
    }
    for (i, t) in req.topics.iter().enumerate() {
        if t.is_empty() {
            continue;
        }
        let t = convert::b256(&format!("topics[{i}]"), t)?;
        filter = match i {
            0 => filter.event_signature(t),
            1 => filter.topic1(t),
            2 => filter.topic2(t),
            _ => filter.topic3(t),
        };
    }
    let (latest, _) = api.node.latest_block().await?;
    let from = req.from_block.unwrap_or(latest);
    if req.to_block.is_some_and(|to| to < from) {
        return Err(Error::invalid("to_block is below from_block"));
    }
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(run(api.clone(), filter, from, req.to_block, tx));
    Ok(ReceiverStream::new(rx))
}

async fn run<E: EthereumNode>(
    api: EthereumApi<E>,
    filter: Filter,
    mut from: u64,
    last: Option<u64>,
    tx: mpsc::Sender<std::result::Result<pb::EthLog, Status>>,
) {
    let mut failures = 0;
    loop {
        match poll(&api, &filter, from, last, &tx).await {
            Ok(next) => {
                failures = 0;
                from = next;
                if last.is_some_and(|l| from > l) {
                    return;
                }
            }
            Err(e @ (Error::Unavailable(_) | Error::Timeout(_))) if failures < MAX_FAILURES => {
                tracing::debug!("log poll failed: {e}");
                failures += 1;
            }
            Err(e) => {
                let _ = tx.send(Err(e.into())).await;
                return;
            }
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(api.poll).await;
    }
}

/// Sends logs of blocks `from..=latest` (capped); returns the next block.
async fn poll<E: EthereumNode>(
    api: &EthereumApi<E>,
    filter: &Filter,
    from: u64,
    last: Option<u64>,
    tx: &mpsc::Sender<std::result::Result<pb::EthLog, Status>>,
) -> Result<u64> {
    let (latest, _) = api.node.latest_block().await?;
    if latest < from {
        return Ok(from);
    }
    let to = latest
        .min(from + MAX_RANGE - 1)
        .min(last.unwrap_or(u64::MAX));
    let logs = api
        .node
        .logs(filter.clone().from_block(from).to_block(to))
        .await?;
    for l in &logs {
        if tx.send(Ok(convert::log(l))).await.is_err() {
            break;
        }
    }
    Ok(to + 1)
}
