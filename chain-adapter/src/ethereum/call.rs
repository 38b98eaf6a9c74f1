//! Call (eth_call, read-only) and GetAccount (nonce and balance).

use alloy::rpc::types::TransactionRequest;
use bapay_proto::chain::v1 as pb;

use super::{convert, EthereumApi, EthereumNode};
use crate::error::Result;

/// Handles `Call`.
pub async fn call<E: EthereumNode>(
    api: &EthereumApi<E>,
    req: pb::CallRequest,
) -> Result<pb::CallResponse> {
    let to = convert::address("to", &req.to)?;
    let mut tx = TransactionRequest::default().to(to).input(req.data.into());
    if !req.from.is_empty() {
        tx = tx.from(convert::address("from", &req.from)?);
    }
    let data = api.node.call(tx).await?;
    Ok(pb::CallResponse {
        data: data.to_vec(),
    })
}

/// Handles `GetAccount`.
pub async fn account<E: EthereumNode>(
    api: &EthereumApi<E>,
    req: pb::GetAccountRequest,
) -> Result<pb::GetAccountResponse> {
    let address = convert::address("address", &req.address)?;
    let (nonce, balance) = api.node.account(address).await?;
    Ok(pb::GetAccountResponse {
        nonce,
        balance_wei: balance.to_string(),
    })
}
