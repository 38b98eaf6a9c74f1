//! FairPay calldata the roles send, and the decoding of a node's revert
//! message into FairPay's custom error.

use alloy::primitives::B256;
use alloy::sol_types::{SolCall, SolInterface};
use bapay_fairpay::bindings::FairPay;
use bapay_fairpay::JobParams;

/// Calldata of `open(job)` (send with value = reward).
pub fn open_calldata(job: &JobParams) -> Vec<u8> {
    FairPay::openCall { job: job.clone() }.abi_encode()
}

/// Calldata of `commit(job, root)` (send with value = bond).
pub fn commit_calldata(job: &JobParams, root: B256) -> Vec<u8> {
    FairPay::commitCall {
        job: job.clone(),
        root,
    }
    .abi_encode()
}

/// Calldata of `payout(job)`.
pub fn payout_calldata(job: &JobParams) -> Vec<u8> {
    FairPay::payoutCall { job: job.clone() }.abi_encode()
}

/// Calldata of `judge(job)`.
pub fn judge_calldata(job: &JobParams) -> Vec<u8> {
    FairPay::judgeCall { job: job.clone() }.abi_encode()
}

/// Calldata of `refund(job)`.
pub fn refund_calldata(job: &JobParams) -> Vec<u8> {
    FairPay::refundCall { job: job.clone() }.abi_encode()
}

/// The node's revert message, with a FairPay custom error decoded from the
/// last `0x…` hex token it contains, when there is one.
pub fn revert_reason(message: &str) -> String {
    let decoded = message
        .split(|c: char| !c.is_ascii_hexdigit() && c != 'x')
        .filter_map(|t| t.strip_prefix("0x"))
        .filter(|t| t.len() >= 8)
        .filter_map(|t| hex::decode(t).ok())
        .filter_map(|b| FairPay::FairPayErrors::abi_decode(&b).ok())
        .next_back();
    match decoded {
        Some(e) => format!("{e:?} ({message})"),
        None => message.to_string(),
    }
}
