//! The `bapay` command line as a library, so the demo runner and the
//! scenario tests print the same report and watch jobs the same way:
//! [`report`] (a job as readable text: state, output, verification,
//! calculators, every transfer and the net totals), [`watch`] (follow
//! WatchJob to the end, printing progress, optionally mining regtest blocks
//! so a local demo moves), [`regtest`] (faucet and mining through the
//! chain-adapter, for local chains only).

pub mod regtest;
pub mod report;
pub mod watch;

use tonic::transport::{Channel, Endpoint};

/// A lazily connecting channel to `url`, with a clear error for a bad URL.
pub fn channel(url: &str) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(url.to_string())
        .map_err(|e| anyhow::anyhow!("bad URL {url:?}: {e}"))?
        .connect_lazy())
}
