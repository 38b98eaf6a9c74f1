//! `GetInfo`: own x-only key, chain Bitcoin, kinds "search" and "linear",
//! the configured Bitcoin limits and work cap, `accepting = true`.
//! Not yet: Ethereum address and limits, capacity-based `accepting`.

use bapay_proto::calculator::v1 as pb;
use bapay_proto::common::v1::Chain;

use crate::service::Calculator;

/// Handles GetInfo.
pub fn handle(c: &Calculator) -> pb::GetInfoResponse {
    let l = &c.config.limits;
    pb::GetInfoResponse {
        bitcoin_key: c.key.x_only_public_key().serialize().to_vec(),
        ethereum_address: Vec::new(),
        chains: vec![Chain::Bitcoin as i32],
        task_kinds: vec!["search".into(), "linear".into()],
        bitcoin: Some(pb::BitcoinLimits {
            min_fee_sat: l.min_fee_sat,
            max_deposit_sat: l.max_deposit_sat,
            min_blocks_to_result_deadline: l.min_blocks_to_result_deadline,
            max_charge_fee_sat: l.max_charge_fee_sat,
        }),
        ethereum: None,
        max_work: l.max_work,
        accepting: true,
    }
}
