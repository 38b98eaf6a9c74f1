//! A regtest `bitcoind` in a temporary data directory: txindex on, no P2P
//! listening, RPC on a free localhost port with cookie auth.
//!
//! bitcoind cannot bind its RPC port to 0, so a free port is picked by
//! binding 127.0.0.1:0 and dropping the socket; if another process grabs it
//! in between, bitcoind exits with a bind error and the spawn is retried on a
//! new port.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::exe::find_executable;
use crate::poll::poll_until;
use crate::process::ChildProcess;
use crate::rpc::{JsonRpc, RpcCallError};

const START_TIMEOUT: Duration = Duration::from_secs(60);
const BIND_RETRIES: usize = 5;

/// A running regtest bitcoind, killed on drop.
#[derive(Debug)]
pub struct Bitcoind {
    process: ChildProcess,
    rpc_port: u16,
    datadir: PathBuf,
    rpc: JsonRpc,
    exe: PathBuf,
    restarts: usize,
    _dir: tempfile::TempDir,
}

impl Bitcoind {
    /// Starts bitcoind (from `BITCOIND_EXE` or `PATH`) and waits until its
    /// RPC answers `getblockchaininfo`.
    pub async fn spawn() -> Result<Self> {
        let exe = find_executable("BITCOIND_EXE", "bitcoind")?;
        let dir = crate::temp_dir("bapay-bitcoind-")?;
        let mut last_err = None;
        for attempt in 0..BIND_RETRIES {
            let datadir = dir.path().join(format!("data{attempt}"));
            std::fs::create_dir_all(&datadir)?;
            let port = free_port()?;
            let name = if attempt == 0 {
                "bitcoind".to_string()
            } else {
                format!("bitcoind-{attempt}")
            };
            let process = start(&exe, &datadir, port, dir.path(), &name, &[])?;
            match wait_ready(process, &datadir, port).await {
                Ok((process, rpc)) => {
                    return Ok(Bitcoind {
                        process,
                        rpc_port: port,
                        datadir,
                        rpc,
                        exe,
                        restarts: 0,
                        _dir: dir,
                    })
                }
                Err((e, bind_failed)) if bind_failed => {
                    tracing::warn!(
                        port,
                        "bitcoind could not bind its RPC port, retrying: {e:#}"
                    );
                    last_err = Some(e);
                }
                Err((e, _)) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("bitcoind did not start")))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc_port)
    }

    /// The RPC port.
    pub fn rpc_port(&self) -> u16 {
        self.rpc_port
    }

    /// The RPC cookie file (`<datadir>/regtest/.cookie`).
    pub fn cookie_file(&self) -> PathBuf {
        cookie_path(&self.datadir)
    }

    /// The data directory (`-datadir`).
    pub fn datadir(&self) -> &Path {
        &self.datadir
    }

    /// Calls an RPC directly on the node (tests use it for `invalidateblock`
    /// and the like).
    pub async fn rpc(&self, method: &str, params: Value) -> Result<Value> {
        self.rpc
            .call(method, params)
            .await
            .with_context(|| format!("bitcoind {method}"))
    }

    /// Mines `n` blocks to `address`, returning their hashes.
    pub async fn mine_to(&self, n: u32, address: &str) -> Result<Vec<String>> {
        let v = self.rpc("generatetoaddress", json!([n, address])).await?;
        Ok(serde_json::from_value(v)?)
    }

    /// The process (log file, pid).
    pub fn process(&self) -> &ChildProcess {
        &self.process
    }

    /// Stops the node cleanly (RPC `stop`, its mempool saved) and starts it
    /// again on the same data directory and port with `extra` flags, e.g.
    /// `-minrelaytxfee=0.0002` for a fee spike. Transactions of the saved
    /// mempool that the new flags refuse are dropped, as on a real node.
    pub async fn restart_with(&mut self, extra: &[&str]) -> Result<()> {
        self.rpc("stop", json!([])).await?;
        let p = &mut self.process;
        poll_until(
            "bitcoind to stop",
            START_TIMEOUT,
            Duration::from_millis(100),
            || {
                let done = p.exit_status().is_some();
                async move {
                    Ok(if done {
                        Ok(())
                    } else {
                        Err("still running".to_string())
                    })
                }
            },
        )
        .await?;
        self.restarts += 1;
        let name = format!("bitcoind-restart{}", self.restarts);
        let process = start(
            &self.exe,
            &self.datadir,
            self.rpc_port,
            self._dir.path(),
            &name,
            extra,
        )?;
        let (process, rpc) = wait_ready(process, &self.datadir, self.rpc_port)
            .await
            .map_err(|(e, _)| e)?;
        self.process = process;
        self.rpc = rpc;
        Ok(())
    }

    /// Kills the node now (tests of node failure).
    pub fn kill(&mut self) {
        self.process.kill();
    }
}

fn cookie_path(datadir: &Path) -> PathBuf {
    datadir.join("regtest").join(".cookie")
}

/// A port nobody listens on right now (bind 127.0.0.1:0, read, drop).
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn start(
    exe: &Path,
    datadir: &Path,
    port: u16,
    log_dir: &Path,
    name: &str,
    extra: &[&str],
) -> Result<ChildProcess> {
    let mut cmd = Command::new(exe);
    cmd.arg("-regtest")
        .arg(format!("-datadir={}", datadir.display()))
        .arg(format!("-rpcport={port}"))
        .arg(format!("-rpcbind=127.0.0.1:{port}"))
        .arg("-rpcallowip=127.0.0.1")
        .args([
            "-server=1",
            "-txindex=1",
            "-listen=0",
            "-listenonion=0",
            "-dnsseed=0",
            "-fixedseeds=0",
            "-printtoconsole=1",
            "-nodebuglogfile",
            "-rpcthreads=16",
            "-rpcworkqueue=256",
        ])
        .args(extra);
    ChildProcess::spawn(name, cmd, log_dir)
}

/// Polls until RPC answers; on failure says whether it was a port clash.
async fn wait_ready(
    mut process: ChildProcess,
    datadir: &Path,
    port: u16,
) -> std::result::Result<(ChildProcess, JsonRpc), (anyhow::Error, bool)> {
    let cookie = cookie_path(datadir);
    let url = format!("http://127.0.0.1:{port}");
    let res = poll_until(
        "bitcoind RPC",
        START_TIMEOUT,
        Duration::from_millis(100),
        || {
            let exited = process.exit_status();
            let cookie = cookie.clone();
            let url = url.clone();
            async move {
                if let Some(st) = exited {
                    bail!("bitcoind exited ({st})");
                }
                let Ok(text) = std::fs::read_to_string(&cookie) else {
                    return Ok(Err("no cookie file yet".into()));
                };
                let Some((user, pass)) = text.trim().split_once(':') else {
                    return Ok(Err("cookie file incomplete".into()));
                };
                let rpc = JsonRpc::new(
                    url,
                    Some((user.into(), pass.into())),
                    Duration::from_secs(5),
                );
                match rpc.call("getblockchaininfo", json!([])).await {
                    Ok(_) => Ok(Ok(rpc)),
                    Err(RpcCallError::Rpc { code: -28, message }) => {
                        Ok(Err(format!("warming up: {message}")))
                    }
                    Err(e) => Ok(Err(e.to_string())),
                }
            }
        },
    )
    .await;
    match res {
        Ok(rpc) => Ok((process, rpc)),
        Err(e) => {
            let log = process.log();
            let bind_failed = process.exit_status().is_some()
                && (log.contains("Unable to bind") || log.contains("Address already in use"));
            let e = process.with_tail(e);
            process.kill();
            Err((e, bind_failed))
        }
    }
}
