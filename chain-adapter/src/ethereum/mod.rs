//! The `bapay.chain.v1.EthereumService` implementation: one handler file per
//! RPC group, sharing [`EthereumApi`]. Generic over [`EthereumNode`] so unit
//! tests can use a fake.

pub mod anvil;
pub mod call;
pub mod convert;
pub mod info;
pub mod logs;
pub mod node;
pub mod send;

use std::sync::Arc;
use std::time::Duration;

use bapay_proto::chain::v1 as pb;
use tonic::{Request, Response, Status};

pub use node::{AlloyNode, EthereumNode};

use crate::config::EthereumConfig;
use crate::error::{Error, Result};

/// The Ethereum networks the adapter knows. Only `Anvil` allows the dev
/// helpers (time travel, mining, balances).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EthNetwork {
    /// A local anvil dev node.
    Anvil,
    /// Ethereum mainnet.
    Mainnet,
    /// Sepolia testnet.
    Sepolia,
    /// Holesky testnet.
    Holesky,
    /// Hoodi testnet.
    Hoodi,
}

impl EthNetwork {
    /// From its configuration name.
    pub fn parse(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "anvil" | "dev" => Ok(EthNetwork::Anvil),
            "mainnet" | "main" => Ok(EthNetwork::Mainnet),
            "sepolia" => Ok(EthNetwork::Sepolia),
            "holesky" => Ok(EthNetwork::Holesky),
            "hoodi" => Ok(EthNetwork::Hoodi),
            other => Err(Error::Config(format!(
                "unknown ethereum network `{other}` (expected anvil, mainnet, sepolia, holesky or hoodi)"
            ))),
        }
    }

    /// Its configuration name.
    pub fn name(self) -> &'static str {
        match self {
            EthNetwork::Anvil => "anvil",
            EthNetwork::Mainnet => "mainnet",
            EthNetwork::Sepolia => "sepolia",
            EthNetwork::Holesky => "holesky",
            EthNetwork::Hoodi => "hoodi",
        }
    }
}

/// Shared state of the Ethereum service.
pub struct EthereumApi<E> {
    pub(crate) node: Arc<E>,
    pub(crate) network: EthNetwork,
    pub(crate) poll: Duration,
}

impl<E> Clone for EthereumApi<E> {
    fn clone(&self) -> Self {
        EthereumApi {
            node: self.node.clone(),
            network: self.network,
            poll: self.poll,
        }
    }
}

impl<E: EthereumNode> EthereumApi<E> {
    /// The service over `node`, configured by `cfg`.
    pub fn new(node: E, cfg: &EthereumConfig) -> Result<Self> {
        Ok(EthereumApi {
            node: Arc::new(node),
            network: EthNetwork::parse(&cfg.network)?,
            poll: Duration::from_millis(cfg.poll_ms.max(10)),
        })
    }
}

type Res<T> = std::result::Result<Response<T>, Status>;

fn ok<T>(r: Result<T>) -> Res<T> {
    r.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl<E: EthereumNode> pb::ethereum_service_server::EthereumService for EthereumApi<E> {
    async fn get_chain_info(
        &self,
        _r: Request<pb::GetChainInfoRequest>,
    ) -> Res<pb::GetChainInfoResponse> {
        ok(info::chain_info(self).await)
    }

    async fn send_raw_transaction(
        &self,
        r: Request<pb::SendRawTransactionRequest>,
    ) -> Res<pb::SendRawTransactionResponse> {
        ok(send::send_raw(self, r.into_inner()).await)
    }

    async fn get_receipt(&self, r: Request<pb::GetReceiptRequest>) -> Res<pb::GetReceiptResponse> {
        ok(send::get_receipt(self, r.into_inner()).await)
    }

    async fn call(&self, r: Request<pb::CallRequest>) -> Res<pb::CallResponse> {
        ok(call::call(self, r.into_inner()).await)
    }

    async fn get_account(&self, r: Request<pb::GetAccountRequest>) -> Res<pb::GetAccountResponse> {
        ok(call::account(self, r.into_inner()).await)
    }

    type WatchLogsStream = logs::LogStream;

    async fn watch_logs(&self, r: Request<pb::WatchLogsRequest>) -> Res<Self::WatchLogsStream> {
        ok(logs::start(self, r.into_inner()).await)
    }

    async fn increase_time(
        &self,
        r: Request<pb::IncreaseTimeRequest>,
    ) -> Res<pb::IncreaseTimeResponse> {
        ok(anvil::increase_time(self, r.into_inner()).await)
    }

    async fn mine(&self, r: Request<pb::MineRequest>) -> Res<pb::MineResponse> {
        ok(anvil::mine(self, r.into_inner()).await)
    }

    async fn set_balance(&self, r: Request<pb::SetBalanceRequest>) -> Res<pb::SetBalanceResponse> {
        ok(anvil::set_balance(self, r.into_inner()).await)
    }
}
