//! An `anvil` (Foundry) dev node on a port the OS assigns (`--port 0`), its
//! address parsed from the "Listening on 127.0.0.1:PORT" log line.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::exe::find_executable;
use crate::poll::poll_until;
use crate::process::ChildProcess;
use crate::rpc::JsonRpc;

const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The secret keys of anvil's ten default dev accounts (mnemonic "test test
/// ... junk"), hex without 0x. Each is funded with 10000 ETH at genesis.
pub const ANVIL_DEV_KEYS: [&str; 3] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];

/// A running anvil, killed on drop.
#[derive(Debug)]
pub struct Anvil {
    process: ChildProcess,
    url: String,
    rpc: JsonRpc,
    _dir: tempfile::TempDir,
}

impl Anvil {
    /// Starts anvil (from `ANVIL_EXE` or `PATH`) with chain id 31337 and
    /// waits until `eth_chainId` answers.
    pub async fn spawn() -> Result<Self> {
        Self::spawn_with_args(&[]).await
    }

    /// Like [`Anvil::spawn`] with extra command-line arguments.
    pub async fn spawn_with_args(extra: &[&str]) -> Result<Self> {
        let exe = find_executable("ANVIL_EXE", "anvil")?;
        let dir = crate::temp_dir("bapay-anvil-")?;
        let mut cmd = Command::new(exe);
        cmd.args(["--host", "127.0.0.1", "--port", "0", "--chain-id", "31337"])
            .args(extra);
        let mut process = ChildProcess::spawn("anvil", cmd, dir.path())?;
        let addr = process.wait_for_log("Listening on ", START_TIMEOUT).await?;
        let url = format!("http://{addr}");
        let rpc = JsonRpc::new(url.clone(), None, Duration::from_secs(5));
        let ready = poll_until(
            "anvil RPC",
            START_TIMEOUT,
            Duration::from_millis(50),
            || {
                let rpc = rpc.clone();
                async move {
                    match rpc.call("eth_chainId", json!([])).await {
                        Ok(_) => Ok(Ok(())),
                        Err(e) => Ok(Err(e.to_string())),
                    }
                }
            },
        )
        .await;
        ready.map_err(|e| process.with_tail(e))?;
        Ok(Anvil {
            process,
            url,
            rpc,
            _dir: dir,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls a JSON-RPC method directly on the node.
    pub async fn rpc(&self, method: &str, params: Value) -> Result<Value> {
        self.rpc
            .call(method, params)
            .await
            .with_context(|| format!("anvil {method}"))
    }

    /// The process (log file, pid).
    pub fn process(&self) -> &ChildProcess {
        &self.process
    }

    /// Kills the node now.
    pub fn kill(&mut self) {
        self.process.kill();
    }
}
