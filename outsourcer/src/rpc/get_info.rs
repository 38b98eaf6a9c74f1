//! `GetInfo`: O's keys, its fundable balance and its configuration.

use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;

use crate::service::Outsourcer;

/// Handles GetInfo (never fails; balance 0 if the adapter is down).
pub async fn handle(o: &Outsourcer) -> pb::GetInfoResponse {
    let script = o.own_script();
    let balance = crate::settlement::bitcoin::funding::spendable(o)
        .await
        .map(|coins| coins.iter().map(|c| c.txout.value.to_sat()).sum())
        .unwrap_or(0);
    pb::GetInfoResponse {
        bitcoin_key: o.key.x_only_public_key().serialize().to_vec(),
        bitcoin_script_pubkey: script.to_bytes(),
        ethereum_address: o
            .eth
            .as_ref()
            .map(|(s, _)| s.address().to_vec())
            .unwrap_or_default(),
        chains: if o.eth.is_some() {
            vec![
                common::Chain::Bitcoin as i32,
                common::Chain::Ethereum as i32,
            ]
        } else {
            vec![common::Chain::Bitcoin as i32]
        },
        pool: o.config.pool.clone(),
        arbiter_endpoint: o.config.arbiter_url.clone(),
        bitcoin_balance_sat: balance,
    }
}
