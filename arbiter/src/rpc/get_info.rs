//! `GetInfo`: own x-only key pk_T, chain Bitcoin, the configured Bitcoin
//! margin and response window; with a FairPay deployment configured also
//! chain Ethereum, T's address (of the same key) and the Ethereum margin.

use bapay_proto::arbiter::v1 as pb;
use bapay_proto::common::v1::Chain;

use crate::service::Arbiter;

/// Handles GetInfo.
pub fn handle(a: &Arbiter) -> pb::GetInfoResponse {
    let eth = a.eth_deployment().is_some();
    let mut chains = vec![Chain::Bitcoin as i32];
    if eth {
        chains.push(Chain::Ethereum as i32);
    }
    pb::GetInfoResponse {
        bitcoin_key: a.key.x_only_public_key().serialize().to_vec(),
        ethereum_address: if eth {
            a.key.eth_address().to_vec()
        } else {
            Vec::new()
        },
        chains,
        bitcoin_margin_blocks: a.config.bitcoin_margin_blocks,
        ethereum_margin_seconds: if eth {
            a.config.ethereum_margin_seconds
        } else {
            0
        },
        response_window_ms: a.config.response_window_ms,
    }
}
