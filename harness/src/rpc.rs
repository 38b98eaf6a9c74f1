//! A minimal JSON-RPC client over HTTP, enough for readiness checks and for
//! tests that poke a node directly (e.g. `invalidateblock`). The
//! chain-adapter has its own typed clients; this one is for the harness.

use std::time::Duration;

use serde_json::{json, Value};

/// Why a call failed: the node could not be reached, or it answered with an
/// error object.
#[derive(Debug)]
pub enum RpcCallError {
    /// Connection refused, timeout, bad HTTP status without a JSON error.
    Transport(String),
    /// The node's JSON-RPC error (code, message).
    Rpc { code: i64, message: String },
}

impl std::fmt::Display for RpcCallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RpcCallError::Transport(m) => write!(f, "transport: {m}"),
            RpcCallError::Rpc { code, message } => write!(f, "rpc error {code}: {message}"),
        }
    }
}

impl std::error::Error for RpcCallError {}

/// JSON-RPC endpoint with optional HTTP basic auth.
#[derive(Clone, Debug)]
pub struct JsonRpc {
    url: String,
    auth: Option<(String, String)>,
    client: reqwest::Client,
}

impl JsonRpc {
    /// A client for `url`, with a per-call `timeout`.
    pub fn new(url: impl Into<String>, auth: Option<(String, String)>, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        JsonRpc {
            url: url.into(),
            auth,
            client,
        }
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` with positional `params` and returns `result`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcCallError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut req = self.client.post(&self.url).json(&body);
        if let Some((u, p)) = &self.auth {
            req = req.basic_auth(u, Some(p));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| RpcCallError::Transport(e.to_string()))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| RpcCallError::Transport(e.to_string()))?;
        let v: Value = serde_json::from_str(&text).map_err(|_| {
            RpcCallError::Transport(format!(
                "HTTP {status}: {}",
                text.chars().take(200).collect::<String>()
            ))
        })?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(RpcCallError::Rpc {
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
