//! The library's one error type and its mapping to gRPC status codes at the
//! service edge: malformed input is INVALID_ARGUMENT, a node that is down is
//! UNAVAILABLE, a slow one DEADLINE_EXCEEDED, a node's rejection (with its
//! reason) or a helper used on the wrong network FAILED_PRECONDITION.

use tonic::{Code, Status};

/// Everything that can go wrong in the chain-adapter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed request (bad hex, wrong length, address of another network).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The request is well-formed but not allowed here (e.g. a regtest-only
    /// helper on signet).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Unknown transaction, receipt, block.
    #[error("not found: {0}")]
    NotFound(String),
    /// The node could not be reached.
    #[error("node unavailable: {0}")]
    Unavailable(String),
    /// The node (or a wait on it) did not answer in time.
    #[error("deadline exceeded: {0}")]
    Timeout(String),
    /// The node answered with a JSON-RPC error; `message` is its reason
    /// (e.g. bitcoind's "non-final").
    #[error("{method} rejected by the node: {message} (code {code})")]
    NodeRpc {
        /// The RPC method called.
        method: String,
        /// JSON-RPC error code.
        code: i64,
        /// The node's message.
        message: String,
    },
    /// The node answered something we could not understand.
    #[error("unexpected node reply to {method}: {detail}")]
    BadReply {
        /// The RPC method called.
        method: String,
        /// What was wrong.
        detail: String,
    },
    /// Bad configuration (unknown network, unreadable cookie file, ...).
    #[error("configuration: {0}")]
    Config(String),
    /// Starting the embedded nodes (`--spawn-nodes`) failed.
    #[error("spawning nodes: {0}")]
    Spawn(String),
    /// Binding or serving the gRPC endpoint failed.
    #[error("server: {0}")]
    Server(String),
}

/// Shorthand.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An INVALID_ARGUMENT error.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    /// The gRPC code this error maps to.
    pub fn code(&self) -> Code {
        match self {
            Error::InvalidArgument(_) => Code::InvalidArgument,
            Error::FailedPrecondition(_) => Code::FailedPrecondition,
            Error::NotFound(_) => Code::NotFound,
            Error::Unavailable(_) => Code::Unavailable,
            Error::Timeout(_) => Code::DeadlineExceeded,
            Error::NodeRpc { code, .. } => match code {
                // bitcoind: RPC_INVALID_ADDRESS_OR_KEY (no such tx / block).
                -5 => Code::NotFound,
                // bitcoind: invalid parameter / deserialization / type error;
                // Ethereum: invalid params.
                -8 | -22 | -3 | -32602 => Code::InvalidArgument,
                // bitcoind still warming up.
                -28 => Code::Unavailable,
                // Mempool / consensus rejections (-25, -26, -27), reverts
                // and everything else the node refused.
                _ => Code::FailedPrecondition,
            },
            Error::BadReply { .. } | Error::Config(_) | Error::Spawn(_) | Error::Server(_) => {
                Code::Internal
            }
        }
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        let code = e.code();
        let msg = match &e {
            // The node's own reason first, so clients can match on it.
            Error::NodeRpc {
                message,
                method,
                code: c,
            } => {
                format!("{message} ({method} rejected by the node, code {c})")
            }
            other => other.to_string(),
        };
        Status::new(code, msg)
    }
}
