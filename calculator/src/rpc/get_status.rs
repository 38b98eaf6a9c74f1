//! `GetStatus`: the stored record of the sub-task: state and reason, m_i's
//! hash, the signed commitment, Pay_i (funding txid, vout index, d + g) and
//! Pay'_i once converted, t, and the last change; Ethereum: the contract
//! job id and t in Unix seconds. Not yet: the `transfers` / `total` money
//! report.

use bapay_core::commitment::sha256;
use bapay_proto::calculator::v1 as pb;
use bapay_proto::common::v1 as common;

use crate::codec;
use crate::error::Result;
use crate::record::SubTaskRecord;
use crate::service::Calculator;

/// Handles GetStatus.
pub fn handle(c: &Calculator, req: pb::GetStatusRequest) -> Result<pb::GetStatusResponse> {
    if let Some((rec, _)) = c.eth_authorized(&req.job_id, &req.job_token)? {
        return crate::eth::work::get_status(&rec, req.job_id);
    }
    let (rec, _) = c.authorized(&req.job_id, &req.job_token)?;
    let sub = SubTaskRecord::unhex("sub_task", &rec.sub_task_hex)?;
    let pay = rec.charge.as_ref().map(|ch| common::EscrowUtxo {
        txid: ch.utxo_txid.clone(),
        vout: ch.utxo_vout,
        value_sat: ch.utxo_value_sat,
    });
    let pay_prime = rec.charge_prime.as_ref().map(|ch| common::EscrowUtxo {
        txid: ch.utxo_txid.clone(),
        vout: ch.utxo_vout,
        value_sat: ch.utxo_value_sat,
    });
    Ok(pb::GetStatusResponse {
        job_id: req.job_id,
        chain: common::Chain::Bitcoin as i32,
        index: rec.index,
        state: rec.state.to_proto() as i32,
        state_reason: rec.state_reason.clone(),
        sub_task_hash: sha256(&sub).to_vec(),
        commitment: rec.commitment.as_ref().map(codec::commitment_to_proto),
        pay,
        pay_prime,
        contract_job_id: Vec::new(),
        payout: Some(common::ChainTime {
            value: Some(common::chain_time::Value::Height(u64::from(
                rec.terms.timeout,
            ))),
        }),
        transfers: Vec::new(),
        total: None,
        updated_unix_ms: rec.updated_unix_ms,
    })
}
