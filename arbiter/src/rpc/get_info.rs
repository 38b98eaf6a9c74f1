//! `GetInfo`: own x-only key pk_T, chain Bitcoin, the configured Bitcoin
//! margin and response window. Not yet: Ethereum address and margin.

use bapay_proto::arbiter::v1 as pb;
use bapay_proto::common::v1::Chain;

use crate::service::Arbiter;

/// Handles GetInfo.
pub fn handle(a: &Arbiter) -> pb::GetInfoResponse {
    pb::GetInfoResponse {
        bitcoin_key: a.key.x_only_public_key().serialize().to_vec(),
        ethereum_address: Vec::new(),
        chains: vec![Chain::Bitcoin as i32],
        bitcoin_margin_blocks: a.config.bitcoin_margin_blocks,
        ethereum_margin_seconds: 0,
        response_window_ms: a.config.response_window_ms,
    }
}
