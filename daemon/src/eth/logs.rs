//! FairPay's logs, read through the chain-adapter's `WatchLogs` (a stream
//! that never ends on its own, historic logs first). Why: an answer to O's
//! on-chain challenge (FairPay `respond`) lives only in logs. The answer
//! closes `challenges(id)`, so the seed that fixed the sampled positions is
//! in the `Challenged` log and the leaves, whose Merkle proofs FairPay
//! checked against the committed root, in the `Responded` log. T and O
//! judge a non-search answer from these two ([`challenge_answer`]), trusting
//! nothing but the chain.

use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolEvent;
use bapay_fairpay::FairPay;
use bapay_proto::chain::v1 as pb;

use super::{EthChain, EthError, EthResult, EthSender};

/// How long a log read may take at most (it is bounded by the latest
/// block, so it ends as soon as the adapter has scanned up to it).
pub const LOG_WAIT: Duration = Duration::from_secs(30);

/// One log, as the daemons use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthLog {
    /// Topics (topic 0: the event signature).
    pub topics: Vec<B256>,
    /// ABI-encoded non-indexed fields.
    pub data: Vec<u8>,
    /// Block it is in.
    pub block_number: u64,
    /// The transaction that emitted it.
    pub transaction_hash: B256,
}

/// The answer to the on-chain challenge of one FairPay job, from its logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeAnswer {
    /// The seed the `Challenged` log fixed (`bapay_fairpay::positions`).
    pub seed: U256,
    /// The leaves of the `Responded` log, in sample order.
    pub leaves: Vec<Vec<u8>>,
    /// The `respond` transaction.
    pub transaction_hash: B256,
}

impl EthSender {
    /// The first log of `contract` from `from_block` up to the latest block
    /// whose topics start with `topics`, or None (also if the scan takes
    /// longer than `wait`). Logs a reorg removed are skipped.
    pub async fn first_log(
        &self,
        contract: Address,
        topics: Vec<B256>,
        from_block: u64,
        wait: Duration,
    ) -> EthResult<Option<EthLog>> {
        let latest = self.chain_info().await?.block_number;
        if latest < from_block {
            return Ok(None);
        }
        let mut stream = self
            .client
            .clone()
            .watch_logs(pb::WatchLogsRequest {
                address: contract.to_vec(),
                topics: topics.iter().map(|t| t.to_vec()).collect(),
                from_block: Some(from_block),
                to_block: Some(latest),
            })
            .await?
            .into_inner();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, stream.message()).await;
            let log = match next {
                Err(_) | Ok(Ok(None)) => return Ok(None),
                Ok(Err(s)) => return Err(s.into()),
                Ok(Ok(Some(l))) if l.removed => continue,
                Ok(Ok(Some(l))) => l,
            };
            let b256 = |what: &str, b: &[u8]| {
                B256::try_from(b).map_err(|_| EthError::BadReply(format!("log {what}")))
            };
            return Ok(Some(EthLog {
                topics: log
                    .topics
                    .iter()
                    .map(|t| b256("topic", t))
                    .collect::<EthResult<_>>()?,
                data: log.data,
                block_number: log.block_number,
                transaction_hash: b256("transaction hash", &log.transaction_hash)?,
            }));
        }
    }
}

/// The answer to the challenge of FairPay job `id`, from its `Challenged`
/// and `Responded` logs at or after `from_block`; None while either is
/// missing (not challenged from there, or not answered: claimed, or a
/// search answer, whose Responded log carries no leaves).
pub async fn challenge_answer(
    chain: &dyn EthChain,
    contract: Address,
    id: B256,
    from_block: u64,
) -> EthResult<Option<ChallengeAnswer>> {
    let topics = |sig: B256| vec![sig, id];
    let Some(c) = chain
        .first_log(
            contract,
            topics(FairPay::Challenged::SIGNATURE_HASH),
            from_block,
        )
        .await?
    else {
        return Ok(None);
    };
    let challenged = FairPay::Challenged::decode_raw_log(c.topics.iter().copied(), &c.data)
        .map_err(|e| EthError::BadReply(format!("Challenged log: {e}")))?;
    let Some(r) = chain
        .first_log(
            contract,
            topics(FairPay::Responded::SIGNATURE_HASH),
            c.block_number,
        )
        .await?
    else {
        return Ok(None);
    };
    let responded = FairPay::Responded::decode_raw_log(r.topics.iter().copied(), &r.data)
        .map_err(|e| EthError::BadReply(format!("Responded log: {e}")))?;
    if responded.leaves.is_empty() {
        return Ok(None);
    }
    Ok(Some(ChallengeAnswer {
        seed: challenged.seed,
        leaves: responded.leaves.into_iter().map(|l| l.to_vec()).collect(),
        transaction_hash: r.transaction_hash,
    }))
}
