//! Node harness for every BAPay integration test and the local demo.
//!
//! It starts real nodes as child processes (regtest `bitcoind`, `anvil`) and
//! our own daemons, each with its own log file in a temporary directory, on
//! ports the OS assigns, waits for readiness by polling (never a fixed sleep),
//! reports the log tail when a process does not come up, and kills every
//! process on drop. Nothing is shared between instances, so tests using it
//! run in parallel.
//!
//! Set `BAPAY_KEEP_LOGS=1` to keep the temporary directories (and their log
//! files) after the processes are dropped.

mod anvil;
mod bitcoind;
mod exe;
mod poll;
mod process;
mod rpc;

pub use anvil::{Anvil, ANVIL_DEV_KEYS};
pub use bitcoind::Bitcoind;
pub use exe::find_executable;
pub use poll::poll_until;
pub use process::ChildProcess;
pub use rpc::{JsonRpc, RpcCallError};

/// A fresh temporary directory for one process's data and log, kept on disk
/// when `BAPAY_KEEP_LOGS` is set.
pub fn temp_dir(prefix: &str) -> anyhow::Result<tempfile::TempDir> {
    let keep = std::env::var_os("BAPAY_KEEP_LOGS").is_some_and(|v| !v.is_empty() && v != "0");
    Ok(tempfile::Builder::new()
        .prefix(prefix)
        .disable_cleanup(keep)
        .tempdir()?)
}
