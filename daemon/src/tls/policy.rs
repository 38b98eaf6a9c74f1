//! Who may call what, checked per RPC before the handler runs: one table
//! per daemon (built in its `lib.rs`, printed in the README), applied by a
//! tower layer on the gRPC server. A call outside the table is refused
//! before anything is read or stored: UNAUTHENTICATED without a
//! credential, PERMISSION_DENIED with the wrong one. Health is open to
//! anyone (load balancers and operators); reflection needs the user or
//! admin role. With `--insecure-plaintext` (loopback only) nothing is
//! checked: there are no certificates to check.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tonic::Status;

use super::role::{role_of_der, Role};

/// What a method requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Anyone who completed the TLS handshake (health).
    Open,
    /// A client certificate naming one of these roles.
    Roles(Vec<Role>),
    /// A client certificate naming one of these roles, or the bearer
    /// token (the outsourcer's user API and its reflection).
    RolesOrToken(Vec<Role>),
}

/// The table: method paths (`/pkg.Service/Method`) or whole services
/// (`/pkg.Service/`) to [`Access`]; anything else is PERMISSION_DENIED.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Arc<Vec<(String, Access)>>,
    token: Option<Arc<String>>,
    enforce: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new()
    }
}

impl Policy {
    /// Health open, reflection for user and admin, nothing else.
    pub fn new() -> Self {
        Policy {
            rules: Arc::new(vec![
                ("/grpc.health.v1.Health/".into(), Access::Open),
                (
                    "/grpc.reflection.".into(),
                    Access::Roles(vec![Role::User, Role::Admin]),
                ),
            ]),
            token: None,
            enforce: true,
        }
    }

    /// Adds a rule for a method (`/pkg.Service/Method`) or a service
    /// (`/pkg.Service/`); methods win over their service. A rule for the
    /// same path replaces the earlier one.
    pub fn allow(mut self, path: &str, access: Access) -> Self {
        let rules = Arc::make_mut(&mut self.rules);
        rules.retain(|(p, _)| p != path);
        rules.push((path.to_string(), access));
        self
    }

    /// The bearer token [`Access::RolesOrToken`] accepts.
    pub fn with_token(mut self, token: String) -> Self {
        self.token = Some(Arc::new(token));
        self
    }

    /// Whether the table is applied (false: plaintext, nothing checked).
    pub fn enforcing(mut self, on: bool) -> Self {
        self.enforce = on;
        self
    }

    /// The rule of `path`: its method's, else its service's.
    pub fn access(&self, path: &str) -> Option<&Access> {
        self.rules
            .iter()
            .find(|(p, _)| p == path)
            .or_else(|| {
                self.rules
                    .iter()
                    .filter(|(p, _)| p.ends_with('/') || p.ends_with('.'))
                    .find(|(p, _)| path.starts_with(p.as_str()))
            })
            .map(|(_, a)| a)
    }

    /// Checks a call to `path` by the holder of `certs` (leaf first, as
    /// the TLS layer verified them) with `headers`.
    pub fn check(
        &self,
        path: &str,
        certs: Option<&[tonic::transport::CertificateDer<'static>]>,
        headers: &http::HeaderMap,
    ) -> Result<(), Status> {
        if !self.enforce {
            return Ok(());
        }
        let Some(access) = self.access(path) else {
            return Err(Status::permission_denied(format!(
                "{path}: no caller is allowed"
            )));
        };
        let role = certs.and_then(|c| c.first()).and_then(|c| role_of_der(c));
        let allowed = |roles: &[Role]| -> Result<(), Status> {
            match role {
                None => Err(Status::unauthenticated(format!(
                    "{path}: a client certificate with a BAPay role is required"
                ))),
                Some(r) if roles.contains(&r) => Ok(()),
                Some(r) => Err(Status::permission_denied(format!(
                    "{path}: role {r} may not call it (allowed: {})",
                    roles
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        };
        match access {
            Access::Open => Ok(()),
            Access::Roles(roles) => allowed(roles),
            Access::RolesOrToken(roles) => {
                if let (Some(t), Some(given)) = (&self.token, bearer(headers)) {
                    if constant_time_eq(t.as_bytes(), given.as_bytes()) {
                        return Ok(());
                    }
                    return Err(Status::unauthenticated(format!(
                        "{path}: wrong bearer token"
                    )));
                }
                allowed(roles)
            }
        }
    }
}

fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The tower layer applying a [`Policy`].
#[derive(Debug, Clone)]
pub struct PolicyLayer(pub Policy);

impl<S> tower::Layer<S> for PolicyLayer {
    type Service = PolicyService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        PolicyService {
            inner,
            policy: self.0.clone(),
        }
    }
}

/// See [`PolicyLayer`].
#[derive(Debug, Clone)]
pub struct PolicyService<S> {
    inner: S,
    policy: Policy,
}

type BoxFuture<T, E> = Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for PolicyService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Default + Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let certs = req
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .and_then(|i| i.peer_certs());
        match self.policy.check(
            req.uri().path(),
            certs.as_deref().map(|c| c.as_slice()),
            req.headers(),
        ) {
            Ok(()) => Box::pin(self.inner.call(req)),
            Err(status) => {
                tracing::warn!(path = %req.uri().path(), code = ?status.code(), "call refused: {}", status.message());
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::pki::Ca;

    fn der(role: Role) -> tonic::transport::CertificateDer<'static> {
        let id = Ca::generate("t").unwrap().issue(role, &[]).unwrap();
        let pem = id.cert_pem;
        let der = rustls_pemfile::certs(&mut pem.as_bytes())
            .next()
            .unwrap()
            .unwrap()
            .into_owned();
        der
    }

    #[test]
    fn the_table_decides() {
        let p = Policy::new()
            .allow("/s.S/", Access::Roles(vec![Role::Outsourcer]))
            .allow(
                "/s.S/Fetch",
                Access::Roles(vec![Role::Outsourcer, Role::Arbiter]),
            )
            .allow("/u.U/", Access::RolesOrToken(vec![Role::User]))
            .with_token("secret".into());
        let h = http::HeaderMap::new();
        let o = [der(Role::Outsourcer)];
        let t = [der(Role::Arbiter)];
        let code = |r: Result<(), Status>| r.err().map(|s| s.code());
        assert_eq!(
            code(p.check("/grpc.health.v1.Health/Check", None, &h)),
            None
        );
        assert_eq!(code(p.check("/s.S/Offer", Some(&o), &h)), None);
        assert_eq!(
            code(p.check("/s.S/Offer", Some(&t), &h)),
            Some(tonic::Code::PermissionDenied)
        );
        assert_eq!(code(p.check("/s.S/Fetch", Some(&t), &h)), None);
        assert_eq!(
            code(p.check("/s.S/Offer", None, &h)),
            Some(tonic::Code::Unauthenticated)
        );
        assert_eq!(
            code(p.check("/x.X/Y", Some(&o), &h)),
            Some(tonic::Code::PermissionDenied)
        );
        assert_eq!(
            code(p.check("/u.U/Submit", Some(&o), &h)),
            Some(tonic::Code::PermissionDenied)
        );
        assert_eq!(
            code(p.check("/u.U/Submit", Some(&[der(Role::User)]), &h)),
            None
        );
        let mut with = http::HeaderMap::new();
        with.insert("authorization", "Bearer secret".parse().unwrap());
        assert_eq!(code(p.check("/u.U/Submit", None, &with)), None);
        with.insert("authorization", "Bearer guess".parse().unwrap());
        assert_eq!(
            code(p.check("/u.U/Submit", None, &with)),
            Some(tonic::Code::Unauthenticated)
        );
        assert_eq!(
            code(p.check(
                "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                Some(&o),
                &h
            )),
            Some(tonic::Code::PermissionDenied)
        );
        assert_eq!(
            code(p.clone().enforcing(false).check("/x.X/Y", None, &h)),
            None
        );
    }
}
