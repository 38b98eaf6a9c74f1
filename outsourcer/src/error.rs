//! [`OutsourcerError`], the daemon's one error type, and its gRPC mapping
//! (outsourcer.proto header): bad input INVALID_ARGUMENT with the reason,
//! unknown job NOT_FOUND, wrong state or configuration FAILED_PRECONDITION,
//! a reused request_id ALREADY_EXISTS, an unreachable chain-adapter or
//! arbiter UNAVAILABLE, the store INTERNAL.

/// Everything a handler or the driver can fail with.
#[derive(Debug, thiserror::Error)]
pub enum OutsourcerError {
    /// Malformed or refused input; the message names the field and why.
    #[error("{0}")]
    InvalidArgument(String),
    /// No job with this id.
    #[error("no job {0}")]
    NotFound(String),
    /// Valid, but not in this state or with this configuration.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The request_id was used for a job with other fields.
    #[error("request_id {0} already used for a different job")]
    AlreadyExists(String),
    /// The chain-adapter, a calculator or the arbiter failed or is
    /// unreachable.
    #[error("{0}")]
    Unavailable(String),
    /// The store or the key files.
    #[error(transparent)]
    Daemon(#[from] bapay_daemon::Error),
    /// A core computation failed on stored (not outside) data.
    #[error("internal: {0}")]
    Internal(String),
}

/// Result with [`OutsourcerError`].
pub type Result<T, E = OutsourcerError> = std::result::Result<T, E>;

impl OutsourcerError {
    /// INVALID_ARGUMENT naming `field`.
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        OutsourcerError::InvalidArgument(format!("{field}: {why}"))
    }

    /// INTERNAL from anything displayable.
    pub fn internal(what: &str, e: impl std::fmt::Display) -> Self {
        OutsourcerError::Internal(format!("{what}: {e}"))
    }
}

impl From<bapay_daemon::FieldError> for OutsourcerError {
    fn from(e: bapay_daemon::FieldError) -> Self {
        OutsourcerError::invalid(&e.field, e.reason)
    }
}

impl From<bapay_daemon::AdapterError> for OutsourcerError {
    fn from(e: bapay_daemon::AdapterError) -> Self {
        OutsourcerError::Unavailable(format!("chain-adapter: {}", e.0))
    }
}

impl From<OutsourcerError> for tonic::Status {
    fn from(e: OutsourcerError) -> Self {
        use tonic::Status;
        let msg = e.to_string();
        match e {
            OutsourcerError::InvalidArgument(_) => Status::invalid_argument(msg),
            OutsourcerError::NotFound(_) => Status::not_found(msg),
            OutsourcerError::FailedPrecondition(_) => Status::failed_precondition(msg),
            OutsourcerError::AlreadyExists(_) => Status::already_exists(msg),
            OutsourcerError::Unavailable(_) => Status::unavailable(msg),
            OutsourcerError::Daemon(d) => d.into(),
            OutsourcerError::Internal(_) => Status::internal(msg),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let s: tonic::Status = OutsourcerError::invalid("fee", "below dust").into();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert_eq!(s.message(), "fee: below dust");
        let s: tonic::Status = OutsourcerError::Unavailable("down".into()).into();
        assert_eq!(s.code(), tonic::Code::Unavailable);
        let s: tonic::Status = OutsourcerError::NotFound("ab".into()).into();
        assert_eq!(s.code(), tonic::Code::NotFound);
    }
}
