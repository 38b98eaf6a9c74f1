//! The `bapay.chain.v1.BitcoinService` implementation: one handler file per
//! RPC group, all sharing [`BitcoinApi`] (the node, the configured network,
//! the faucet). Generic over [`BitcoinNode`] so unit tests run on a fake.

pub mod broadcast;
#[cfg(test)]
mod fake;
pub mod faucet;
pub mod fee;
pub mod node;
pub mod package;
pub mod parse;
pub mod regtest;
pub mod rpc;
pub mod spender;
pub mod status;
pub mod tip;
pub mod utxo;
pub mod watch;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use bapay_proto::chain::v1 as pb;
use bitcoin::Network;
use tonic::{Request, Response, Status};

pub use node::{BitcoinNode, BitcoinNodeExt};

use crate::config::BitcoinConfig;
use crate::error::Result;

/// Shared state of the Bitcoin service.
pub struct BitcoinApi<N> {
    pub(crate) node: Arc<N>,
    pub(crate) network: Network,
    pub(crate) poll: Duration,
    pub(crate) fallback_fee: f64,
    pub(crate) faucet: Arc<faucet::Faucet>,
    /// bitcoind runs one `scantxoutset` at a time.
    pub(crate) scan_lock: Arc<tokio::sync::Mutex<()>>,
}

impl<N> Clone for BitcoinApi<N> {
    fn clone(&self) -> Self {
        BitcoinApi {
            node: self.node.clone(),
            network: self.network,
            poll: self.poll,
            fallback_fee: self.fallback_fee,
            faucet: self.faucet.clone(),
            scan_lock: self.scan_lock.clone(),
        }
    }
}

impl<N: BitcoinNode> BitcoinApi<N> {
    /// The service over `node`, configured by `cfg`.
    pub fn new(node: N, cfg: &BitcoinConfig) -> Result<Self> {
        let network = parse::network(&cfg.network)?;
        Ok(BitcoinApi {
            node: Arc::new(node),
            network,
            poll: Duration::from_millis(cfg.watch_poll_ms.max(10)),
            fallback_fee: cfg.fallback_fee_sat_per_vb,
            faucet: Arc::new(faucet::Faucet::new(cfg.faucet_secret_key.as_deref())?),
            scan_lock: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// The faucet (its address is where `MineBlocks` mines by default).
    pub fn faucet(&self) -> &faucet::Faucet {
        &self.faucet
    }
}

type Res<T> = std::result::Result<Response<T>, Status>;

fn ok<T>(r: Result<T>) -> Res<T> {
    r.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl<N: BitcoinNode> pb::bitcoin_service_server::BitcoinService for BitcoinApi<N> {
    async fn get_tip(&self, _r: Request<pb::GetTipRequest>) -> Res<pb::GetTipResponse> {
        ok(tip::get_tip(self).await)
    }

    async fn broadcast_transaction(
        &self,
        r: Request<pb::BroadcastTransactionRequest>,
    ) -> Res<pb::BroadcastTransactionResponse> {
        ok(broadcast::broadcast(self, r.into_inner()).await)
    }

    async fn submit_package(
        &self,
        r: Request<pb::SubmitPackageRequest>,
    ) -> Res<pb::SubmitPackageResponse> {
        ok(package::submit(self, r.into_inner()).await)
    }

    async fn test_mempool_accept(
        &self,
        r: Request<pb::TestMempoolAcceptRequest>,
    ) -> Res<pb::TestMempoolAcceptResponse> {
        ok(broadcast::test_accept(self, r.into_inner()).await)
    }

    async fn get_transaction_status(
        &self,
        r: Request<pb::GetTransactionStatusRequest>,
    ) -> Res<pb::GetTransactionStatusResponse> {
        ok(status::get_status(self, r.into_inner()).await)
    }

    async fn list_unspent(
        &self,
        r: Request<pb::ListUnspentRequest>,
    ) -> Res<pb::ListUnspentResponse> {
        ok(utxo::list_unspent(self, r.into_inner()).await)
    }

    type WatchStream = watch::WatchStream;

    async fn watch(&self, r: Request<pb::WatchRequest>) -> Res<Self::WatchStream> {
        ok(watch::start(self, r.into_inner()).await)
    }

    async fn get_spender(&self, r: Request<pb::GetSpenderRequest>) -> Res<pb::GetSpenderResponse> {
        ok(spender::get_spender(self, r.into_inner()).await)
    }

    async fn estimate_fee(
        &self,
        r: Request<pb::EstimateFeeRequest>,
    ) -> Res<pb::EstimateFeeResponse> {
        ok(fee::estimate(self, r.into_inner()).await)
    }

    async fn mine_blocks(&self, r: Request<pb::MineBlocksRequest>) -> Res<pb::MineBlocksResponse> {
        ok(regtest::mine_blocks(self, r.into_inner()).await)
    }

    async fn faucet_pay(&self, r: Request<pb::FaucetPayRequest>) -> Res<pb::FaucetPayResponse> {
        ok(faucet::pay(self, r.into_inner()).await)
    }
}
