//! gRPC health (tonic-health): each chain service is SERVING while its node
//! answers and NOT_SERVING while it does not, checked periodically.

use std::time::Duration;

use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

use crate::bitcoin::{BitcoinApi, BitcoinNode, BitcoinNodeExt};
use crate::ethereum::{EthereumApi, EthereumNode};

/// Service names as registered by the generated servers.
pub const BITCOIN_SERVICE: &str = "bapay.chain.v1.BitcoinService";
/// See [`BITCOIN_SERVICE`].
pub const ETHEREUM_SERVICE: &str = "bapay.chain.v1.EthereumService";

const INTERVAL: Duration = Duration::from_secs(3);

/// Polls the nodes forever, updating `reporter`.
pub async fn monitor<N: BitcoinNode, E: EthereumNode>(
    reporter: HealthReporter,
    btc: Option<BitcoinApi<N>>,
    eth: Option<EthereumApi<E>>,
) {
    loop {
        if let Some(b) = &btc {
            let st = match b.node.tip().await {
                Ok(_) => ServingStatus::Serving,
                Err(_) => ServingStatus::NotServing,
            };
            reporter.set_service_status(BITCOIN_SERVICE, st).await;
        }
        if let Some(e) = &eth {
            let st = match e.node.chain_id().await {
                Ok(_) => ServingStatus::Serving,
                Err(_) => ServingStatus::NotServing,
            };
            reporter.set_service_status(ETHEREUM_SERVICE, st).await;
        }
        tokio::time::sleep(INTERVAL).await;
    }
}
