//! A fake `BitcoinNode` for unit tests: canned replies by method name.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{json, Value};

use super::node::BitcoinNode;
use crate::error::{Error, Result};

/// Answers each method with a fixed result or error; records calls.
#[derive(Default)]
pub struct FakeNode {
    replies: HashMap<String, Result<Value, (i64, String)>>,
    pub calls: Mutex<Vec<String>>,
}

impl FakeNode {
    /// A node reporting `chain` at height 101.
    pub fn on_chain(chain: &str) -> Self {
        FakeNode::default().reply(
            "getblockchaininfo",
            json!({"chain": chain, "blocks": 101, "bestblockhash": "00".repeat(32)}),
        )
    }

    /// `method` returns `v`.
    pub fn reply(mut self, method: &str, v: Value) -> Self {
        self.replies.insert(method.into(), Ok(v));
        self
    }

    /// `method` fails with a JSON-RPC error.
    pub fn fail(mut self, method: &str, code: i64, msg: &str) -> Self {
        self.replies.insert(method.into(), Err((code, msg.into())));
        self
    }

    /// Methods called so far.
    pub fn called(&self) -> Vec<String> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl BitcoinNode for FakeNode {
    async fn call(&self, method: &str, _params: Value) -> Result<Value> {
        if let Ok(mut c) = self.calls.lock() {
            c.push(method.to_string());
        }
        match self.replies.get(method) {
            Some(Ok(v)) => Ok(v.clone()),
            Some(Err((code, message))) => Err(Error::NodeRpc {
                method: method.into(),
                code: *code,
                message: message.clone(),
            }),
            None => Err(Error::Unavailable(format!(
                "fake node has no reply for {method}"
            ))),
        }
    }
}
