//! The one error type every role daemon returns at its gRPC edge
//! (ldk-server's shape: a code and a message). Handlers, drivers and
//! settlements all return [`ServiceError`]; the tonic service turns it into
//! a [`tonic::Status`] with the matching code, so a client always sees the
//! reason (the field and why, for bad input) and never an opaque INTERNAL
//! for something it sent.

use std::fmt::Display;

/// What kind of failure: one gRPC status code each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Malformed or refused input (the message names the field).
    InvalidArgument,
    /// No such job, offer or dispute.
    NotFound,
    /// Created before with other content.
    AlreadyExists,
    /// No credential, or a credential that is not valid.
    Unauthenticated,
    /// A valid credential of a role that may not do this, or a wrong job
    /// token.
    PermissionDenied,
    /// Valid, but not in this state or configuration.
    FailedPrecondition,
    /// A limit of this daemon is reached (capacity, rate).
    ResourceExhausted,
    /// A dependency (chain-adapter, peer) is down; retry.
    Unavailable,
    /// A dependency was too slow.
    DeadlineExceeded,
    /// A concurrent change won; retry.
    Aborted,
    /// Not built (yet).
    Unimplemented,
    /// A fault of this daemon (store, stored data); nothing was changed.
    Internal,
}

impl ErrorCode {
    /// The gRPC code.
    pub fn grpc(self) -> tonic::Code {
        use tonic::Code;
        match self {
            ErrorCode::InvalidArgument => Code::InvalidArgument,
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::AlreadyExists => Code::AlreadyExists,
            ErrorCode::Unauthenticated => Code::Unauthenticated,
            ErrorCode::PermissionDenied => Code::PermissionDenied,
            ErrorCode::FailedPrecondition => Code::FailedPrecondition,
            ErrorCode::ResourceExhausted => Code::ResourceExhausted,
            ErrorCode::Unavailable => Code::Unavailable,
            ErrorCode::DeadlineExceeded => Code::DeadlineExceeded,
            ErrorCode::Aborted => Code::Aborted,
            ErrorCode::Unimplemented => Code::Unimplemented,
            ErrorCode::Internal => Code::Internal,
        }
    }
}

/// A failure of a role daemon: its code and a message for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What happened, for the caller (never key material).
    pub message: String,
}

/// Result with [`ServiceError`].
pub type ServiceResult<T, E = ServiceError> = std::result::Result<T, E>;

impl ServiceError {
    /// A failure with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ServiceError {
            code,
            message: message.into(),
        }
    }
    /// INVALID_ARGUMENT naming `field`: `"{field}: {why}"`.
    pub fn invalid(field: &str, why: impl Display) -> Self {
        Self::new(ErrorCode::InvalidArgument, format!("{field}: {why}"))
    }
    /// NOT_FOUND.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, what)
    }
    /// ALREADY_EXISTS.
    pub fn already_exists(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::AlreadyExists, what)
    }
    /// UNAUTHENTICATED.
    pub fn unauthenticated(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, what)
    }
    /// PERMISSION_DENIED.
    pub fn permission_denied(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::PermissionDenied, what)
    }
    /// FAILED_PRECONDITION.
    pub fn precondition(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::FailedPrecondition, what)
    }
    /// RESOURCE_EXHAUSTED.
    pub fn exhausted(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceExhausted, what)
    }
    /// UNAVAILABLE.
    pub fn unavailable(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, what)
    }
    /// UNIMPLEMENTED.
    pub fn unimplemented(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unimplemented, what)
    }
    /// INTERNAL: `"internal: {what}: {e}"` (a fault of stored data or of
    /// this daemon, not of the request).
    pub fn internal(what: &str, e: impl Display) -> Self {
        Self::new(ErrorCode::Internal, format!("internal: {what}: {e}"))
    }
    /// Is this the code `code`?
    pub fn is(&self, code: ErrorCode) -> bool {
        self.code == code
    }
    /// A peer or dependency that may come back (UNAVAILABLE,
    /// DEADLINE_EXCEEDED): retry later rather than give up.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::Unavailable | ErrorCode::DeadlineExceeded | ErrorCode::Aborted
        )
    }
    /// The same error with `context: ` in front of its message.
    pub fn context(mut self, context: impl Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl From<ServiceError> for tonic::Status {
    fn from(e: ServiceError) -> Self {
        tonic::Status::new(e.code.grpc(), e.message)
    }
}

impl From<tonic::Status> for ServiceError {
    /// A peer's answer, keeping its code (a peer's INVALID_ARGUMENT stays
    /// one, its UNAVAILABLE stays retryable).
    fn from(s: tonic::Status) -> Self {
        use tonic::Code;
        let code = match s.code() {
            Code::InvalidArgument | Code::OutOfRange => ErrorCode::InvalidArgument,
            Code::NotFound => ErrorCode::NotFound,
            Code::AlreadyExists => ErrorCode::AlreadyExists,
            Code::Unauthenticated => ErrorCode::Unauthenticated,
            Code::PermissionDenied => ErrorCode::PermissionDenied,
            Code::FailedPrecondition => ErrorCode::FailedPrecondition,
            Code::ResourceExhausted => ErrorCode::ResourceExhausted,
            Code::DeadlineExceeded | Code::Cancelled => ErrorCode::DeadlineExceeded,
            Code::Aborted => ErrorCode::Aborted,
            Code::Unimplemented => ErrorCode::Unimplemented,
            Code::Unavailable => ErrorCode::Unavailable,
            Code::Ok | Code::Unknown | Code::Internal | Code::DataLoss => ErrorCode::Internal,
        };
        ServiceError::new(code, s.message().to_string())
    }
}

impl From<crate::Error> for ServiceError {
    fn from(e: crate::Error) -> Self {
        use crate::Error as E;
        let code = match &e {
            E::JobNotFound(_) => ErrorCode::NotFound,
            E::VersionConflict { .. } | E::Step { .. } => ErrorCode::Aborted,
            E::Config(_) | E::Key { .. } => ErrorCode::FailedPrecondition,
            E::Store(_) | E::Server(_) | E::Telemetry(_) => ErrorCode::Internal,
        };
        ServiceError::new(code, e.to_string())
    }
}

impl From<crate::FieldError> for ServiceError {
    fn from(e: crate::FieldError) -> Self {
        ServiceError::invalid(&e.field, e.reason)
    }
}

impl From<crate::AdapterError> for ServiceError {
    fn from(e: crate::AdapterError) -> Self {
        ServiceError::unavailable(format!("chain-adapter: {}", e.0))
    }
}

impl From<crate::EthError> for ServiceError {
    /// A revert is FAILED_PRECONDITION (the contract refused: wrong time or
    /// state) with the decoded reason; anything else UNAVAILABLE.
    fn from(e: crate::EthError) -> Self {
        match e {
            crate::EthError::Reverted(m) => ServiceError::precondition(format!("reverts: {m}")),
            e => ServiceError::unavailable(format!("ethereum: {e}")),
        }
    }
}

impl From<bapay_core::Error> for ServiceError {
    /// A core rule refused stored or derived data: INTERNAL. Handlers that
    /// apply a core check to *input* map it with [`ServiceError::invalid`]
    /// instead, naming the field.
    fn from(e: bapay_core::Error) -> Self {
        ServiceError::internal("core", e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages_reach_the_status() {
        let s: tonic::Status = ServiceError::invalid("fee", "below dust").into();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert_eq!(s.message(), "fee: below dust");
        let s: tonic::Status = ServiceError::from(crate::AdapterError("down".into())).into();
        assert_eq!(s.code(), tonic::Code::Unavailable);
        let s: tonic::Status = ServiceError::from(crate::Error::Store("disk".into())).into();
        assert_eq!(s.code(), tonic::Code::Internal);
        let s: tonic::Status = ServiceError::from(crate::Error::JobNotFound("j".into())).into();
        assert_eq!(s.code(), tonic::Code::NotFound);
    }

    #[test]
    fn peer_statuses_keep_their_code() {
        let e = ServiceError::from(tonic::Status::unavailable("x"));
        assert!(e.is_transient());
        let e = ServiceError::from(tonic::Status::invalid_argument("y"));
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert!(!e.is_transient());
        assert_eq!(e.context("calculator 1").message, "calculator 1: y");
    }
}
