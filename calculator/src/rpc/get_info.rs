//! `GetInfo`: own x-only key, chain Bitcoin, kinds "search" and "linear",
//! the configured Bitcoin limits and work cap, `accepting = true`; with a
//! FairPay deployment configured also chain Ethereum, its address (of the
//! same key) and the Ethereum limits. Not yet: capacity-based `accepting`.

use bapay_proto::calculator::v1 as pb;
use bapay_proto::common::v1::Chain;

use crate::service::Calculator;

/// Handles GetInfo.
pub fn handle(c: &Calculator) -> pb::GetInfoResponse {
    let l = &c.config.limits;
    let e = &c.config.ethereum;
    let eth = c.eth_deployment().is_some();
    let mut chains = vec![Chain::Bitcoin as i32];
    if eth {
        chains.push(Chain::Ethereum as i32);
    }
    pb::GetInfoResponse {
        bitcoin_key: c.key.x_only_public_key().serialize().to_vec(),
        ethereum_address: if eth {
            c.key.eth_address().to_vec()
        } else {
            Vec::new()
        },
        chains,
        task_kinds: vec!["search".into(), "linear".into()],
        bitcoin: Some(pb::BitcoinLimits {
            min_fee_sat: l.min_fee_sat,
            max_deposit_sat: l.max_deposit_sat,
            min_blocks_to_result_deadline: l.min_blocks_to_result_deadline,
            max_charge_fee_sat: l.max_charge_fee_sat,
            max_blocks_to_payout: l.max_blocks_to_payout,
        }),
        ethereum: eth.then(|| pb::EthereumLimits {
            min_fee_wei: e.min_reward_wei.clone(),
            max_deposit_wei: e.max_bond_wei.clone(),
            min_seconds_to_commit_deadline: e.min_seconds_to_commit_deadline,
            max_seconds_to_payout: e.max_seconds_to_payout,
        }),
        max_work: l.max_work,
        accepting: true,
    }
}
