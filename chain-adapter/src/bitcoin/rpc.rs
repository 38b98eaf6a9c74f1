//! The real `BitcoinNode`: bitcoind's JSON-RPC over reqwest, with cookie or
//! user/password auth and a per-call timeout, so a dead node is UNAVAILABLE
//! and a stuck one DEADLINE_EXCEEDED, never a hang.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use super::node::BitcoinNode;
use crate::config::BitcoinConfig;
use crate::error::{Error, Result};

/// How the adapter authenticates to bitcoind.
#[derive(Debug, Clone)]
enum Auth {
    /// Read `__cookie__:password` from this file on every call (bitcoind
    /// rewrites it on restart).
    Cookie(PathBuf),
    UserPass(String, String),
    None,
}

/// bitcoind over HTTP JSON-RPC.
#[derive(Debug, Clone)]
pub struct RpcNode {
    url: String,
    auth: Auth,
    client: reqwest::Client,
}

impl RpcNode {
    /// From the `[bitcoin]` configuration.
    pub fn new(cfg: &BitcoinConfig) -> Result<Self> {
        let auth = match (&cfg.cookie_file, &cfg.rpc_user, &cfg.rpc_password) {
            (Some(c), _, _) => Auth::Cookie(c.clone()),
            (None, Some(u), Some(p)) => Auth::UserPass(u.clone(), p.clone()),
            (None, Some(_), None) | (None, None, Some(_)) => {
                return Err(Error::Config(
                    "bitcoin.rpc_user and bitcoin.rpc_password go together".into(),
                ))
            }
            (None, None, None) => Auth::None,
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .connect_timeout(Duration::from_millis(cfg.timeout_ms.min(3_000)))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(RpcNode {
            url: cfg.rpc_url.clone(),
            auth,
            client,
        })
    }

    fn credentials(&self) -> Result<Option<(String, String)>> {
        match &self.auth {
            Auth::None => Ok(None),
            Auth::UserPass(u, p) => Ok(Some((u.clone(), p.clone()))),
            Auth::Cookie(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::Unavailable(format!("cannot read cookie file {}: {e}", path.display()))
                })?;
                let (u, p) = text.trim().split_once(':').ok_or_else(|| {
                    Error::Unavailable(format!("malformed cookie file {}", path.display()))
                })?;
                Ok(Some((u.to_string(), p.to_string())))
            }
        }
    }
}

impl BitcoinNode for RpcNode {
    async fn call(&self, method: &str, params: Value) -> Result<Value> {
        let body = json!({"jsonrpc": "1.0", "id": "bapay", "method": method, "params": params});
        let mut req = self.client.post(&self.url).json(&body);
        if let Some((u, p)) = self.credentials()? {
            req = req.basic_auth(u, Some(p));
        }
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                Error::Timeout(format!("bitcoind {method}: {e}"))
            } else {
                Error::Unavailable(format!("bitcoind {method}: {e}"))
            }
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let text = resp.text().await.map_err(transport)?;
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            // 401 on wrong credentials, 503 when the work queue is full, ...
            return Err(Error::Unavailable(format!(
                "bitcoind {method}: HTTP {status}: {}",
                text.chars().take(200).collect::<String>()
            )));
        };
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(Error::NodeRpc {
                method: method.to_string(),
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            });
        }
        Ok(v.get("result").cloned().unwrap_or(Value::Null))
    }
}
