//! The chain-adapter client the daemons share: a lazily connected
//! `bapay.chain.v1.BitcoinService` channel, the RPCs (GetTip,
//! GetTransactionStatus, ListUnspent, BroadcastTransaction, GetSpender) and the mapping
//! of a failed call's [`tonic::Status`] to an [`AdapterError`]. Each daemon
//! keeps its own `Chain` trait on top and converts the error with `From`.

use bapay_proto::chain::v1 as pb;
use bapay_proto::chain::v1::bitcoin_service_client::BitcoinServiceClient;
use tonic::transport::Channel;

/// The chain-adapter failed or is unreachable (the message says how).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AdapterError(pub String);

impl From<tonic::Status> for AdapterError {
    fn from(s: tonic::Status) -> Self {
        AdapterError(format!("{:?}: {}", s.code(), s.message()))
    }
}

/// Result with [`AdapterError`].
pub type AdapterResult<T> = std::result::Result<T, AdapterError>;

/// Where a transaction is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxStatus {
    /// Depth in the active chain (0: mempool).
    pub confirmations: u64,
    /// The transaction (consensus bytes), when known.
    pub raw_tx: Vec<u8>,
}

/// The chain-adapter client (connects lazily, so a daemon starts while the
/// adapter is down; calls then fail).
#[derive(Debug, Clone)]
pub struct AdapterClient {
    client: BitcoinServiceClient<Channel>,
}

impl AdapterClient {
    /// A client for `url` (e.g. `http://127.0.0.1:50051`) over `tls`.
    pub fn new(url: &str, tls: &crate::tls::Tls) -> AdapterResult<Self> {
        let endpoint = tls
            .endpoint(url)
            .map_err(|e| AdapterError(format!("chain-adapter URL: {e}")))?;
        Ok(AdapterClient {
            client: BitcoinServiceClient::new(endpoint.connect_lazy()),
        })
    }

    /// Height of the best block.
    pub async fn tip_height(&self) -> AdapterResult<u64> {
        let r = self.client.clone().get_tip(pb::GetTipRequest {}).await?;
        Ok(r.into_inner().height)
    }

    /// Status of a transaction (`None`: NOT_FOUND or state UNKNOWN).
    pub async fn tx_status(&self, txid: &str) -> AdapterResult<Option<TxStatus>> {
        let r = self
            .client
            .clone()
            .get_transaction_status(pb::GetTransactionStatusRequest {
                txid: txid.to_string(),
            })
            .await;
        match r {
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(s.into()),
            Ok(r) => {
                let r = r.into_inner();
                if r.state == pb::TxState::Unknown as i32 {
                    return Ok(None);
                }
                Ok(Some(TxStatus {
                    confirmations: r.confirmations,
                    raw_tx: r.raw_tx,
                }))
            }
        }
    }

    /// Confirmed unspent outputs paying `script_pubkey`, as the adapter sent
    /// them.
    pub async fn list_unspent(&self, script_pubkey: &[u8]) -> AdapterResult<Vec<pb::Utxo>> {
        let r = self
            .client
            .clone()
            .list_unspent(pb::ListUnspentRequest {
                script_pubkey: script_pubkey.to_vec(),
            })
            .await?;
        Ok(r.into_inner().utxos)
    }

    /// Relays a signed transaction; returns its txid.
    pub async fn broadcast(&self, raw_tx: &[u8]) -> AdapterResult<String> {
        let r = self
            .client
            .clone()
            .broadcast_transaction(pb::BroadcastTransactionRequest {
                raw_tx: raw_tx.to_vec(),
            })
            .await?;
        Ok(r.into_inner().txid)
    }

    /// Relays a package, parents first (SubmitPackage); returns the txids.
    pub async fn submit_package(&self, raw_txs: &[Vec<u8>]) -> AdapterResult<Vec<String>> {
        let r = self
            .client
            .clone()
            .submit_package(pb::SubmitPackageRequest {
                raw_txs: raw_txs.to_vec(),
            })
            .await?;
        Ok(r.into_inner().txids)
    }

    /// The fee rate for confirmation within 6 blocks, sat/vB (EstimateFee,
    /// never below the mempool minimum).
    pub async fn fee_rate(&self) -> AdapterResult<f64> {
        let r = self
            .client
            .clone()
            .estimate_fee(pb::EstimateFeeRequest { conf_target: 6 })
            .await?;
        let r = r.into_inner();
        Ok(r.sat_per_vbyte.max(r.mempool_min_sat_per_vbyte))
    }

    /// The transaction spending `outpoint`, if any (GetSpender).
    pub async fn find_spender(
        &self,
        outpoint: &bitcoin::OutPoint,
    ) -> AdapterResult<Option<crate::btc::Spender>> {
        let r = self
            .client
            .clone()
            .get_spender(pb::GetSpenderRequest {
                outpoint: Some(pb::OutPoint {
                    txid: outpoint.txid.to_string(),
                    vout: outpoint.vout,
                }),
            })
            .await?
            .into_inner();
        if !r.spent {
            return Ok(None);
        }
        let tx: bitcoin::Transaction = bitcoin::consensus::deserialize(&r.raw_tx)
            .map_err(|e| AdapterError(format!("GetSpender: undecodable transaction: {e}")))?;
        // Checked here, so no caller indexes past the inputs or trusts a
        // spender that does not spend the outpoint.
        let spends = tx
            .input
            .get(r.input_index as usize)
            .is_some_and(|i| i.previous_output == *outpoint);
        if !spends {
            return Err(AdapterError(format!(
                "GetSpender: input {} of {} does not spend {outpoint}",
                r.input_index, r.txid
            )));
        }
        Ok(Some(crate::btc::Spender {
            tx,
            input_index: r.input_index as usize,
            confirmations: r.confirmations,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_url_errors() {
        let e: AdapterError = tonic::Status::unavailable("down").into();
        assert_eq!(e.to_string(), "Unavailable: down");
        assert!(AdapterClient::new("not a url\n", &crate::tls::Tls::plaintext()).is_err());
    }
}
