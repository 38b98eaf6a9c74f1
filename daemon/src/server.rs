//! The gRPC server every daemon runs: TLS with client certificates
//! (`crate::tls`, unless plaintext was asked for), the daemon's per-RPC
//! [`Policy`] in front of every service, standard health
//! (`grpc.health.v1`, open to anyone) and reflection (v1 and v1alpha, so
//! both old and new grpcurl can list and call everything; user and admin
//! roles), bound to `--listen` (port 0 allowed; `:PORT` means all
//! interfaces), the bound address logged, and a graceful stop on SIGTERM,
//! Ctrl-C or any future.

use std::future::Future;
use std::net::SocketAddr;

use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

use crate::error::{Error, Result};
use crate::tls::{Policy, PolicyLayer, Tls};

/// The router every daemon adds its services to: the policy layer first.
pub type Router = tonic::transport::server::Router<
    tower::layer::util::Stack<PolicyLayer, tower::layer::util::Identity>,
>;

/// A bound, not yet serving, gRPC server.
pub struct BoundServer {
    listener: tokio::net::TcpListener,
    local_addr: SocketAddr,
    router: Router,
    health: HealthReporter,
}

impl std::fmt::Debug for BoundServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// Binds `listen` and builds a server with health, reflection over
/// `file_descriptor_sets` (the daemon's own, e.g. `pb::FILE_DESCRIPTOR_SET`;
/// health's and reflection's are always added) and whatever services
/// `add_services` adds to the router.
///
/// The overall health status (`""`) is SERVING; set each service's status
/// through [`BoundServer::health`].
pub async fn bind<F>(
    listen: &str,
    tls: &Tls,
    policy: Policy,
    file_descriptor_sets: &[&'static [u8]],
    add_services: F,
) -> Result<BoundServer>
where
    F: FnOnce(Router) -> Router,
{
    let (health, health_service) = tonic_health::server::health_reporter();
    let (refl_v1, refl_v1alpha) = reflection(file_descriptor_sets)?;
    let mut builder = tonic::transport::Server::builder();
    if let Some(cfg) = tls.server_config() {
        builder = builder
            .tls_config(cfg)
            .map_err(|e| Error::Server(format!("tls: {e}")))?;
    }
    let router = builder
        .layer(PolicyLayer(policy.enforcing(tls.is_on())))
        .add_service(health_service)
        .add_service(refl_v1)
        .add_service(refl_v1alpha);
    let router = add_services(router);

    let addr = listen_addr(listen);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| Error::Server(format!("binding {listen}: {e}")))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| Error::Server(e.to_string()))?;
    tracing::info!(%local_addr, "listening on {local_addr}");
    Ok(BoundServer {
        listener,
        local_addr,
        router,
        health,
    })
}

/// Server reflection, v1 and v1alpha (grpcurl 1.8 lists through v1alpha,
/// newer clients through v1), each describing `file_descriptor_sets`,
/// health and both reflection services. Every BAPay server (the role
/// daemons' [`bind`] and the chain-adapter's) serves these.
#[allow(clippy::type_complexity)]
pub fn reflection(
    file_descriptor_sets: &[&'static [u8]],
) -> Result<(
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    tonic_reflection::server::v1alpha::ServerReflectionServer<
        impl tonic_reflection::server::v1alpha::ServerReflection,
    >,
)> {
    let builder = || {
        let mut b = tonic_reflection::server::Builder::configure()
            .include_reflection_service(false)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            );
        for &set in file_descriptor_sets {
            b = b.register_encoded_file_descriptor_set(set);
        }
        b
    };
    let err = |e: tonic_reflection::server::Error| Error::Server(format!("reflection: {e}"));
    Ok((
        builder().build_v1().map_err(err)?,
        builder().build_v1alpha().map_err(err)?,
    ))
}

/// `:PORT` (Go style) means every interface.
fn listen_addr(listen: &str) -> String {
    if listen.starts_with(':') {
        format!("0.0.0.0{listen}")
    } else {
        listen.to_string()
    }
}

impl BoundServer {
    /// The bound address (the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The health reporter, to mark each service SERVING / NOT_SERVING.
    pub fn health(&self) -> &HealthReporter {
        &self.health
    }

    /// Serves until SIGTERM or Ctrl-C.
    pub async fn serve(self) -> Result<()> {
        self.serve_with_shutdown(shutdown_signal()).await
    }

    /// Serves until `signal` resolves, then reports NOT_SERVING and lets the
    /// calls in flight finish.
    pub async fn serve_with_shutdown(self, signal: impl Future<Output = ()> + Send) -> Result<()> {
        let BoundServer {
            listener,
            router,
            health,
            local_addr,
        } = self;
        let signal = async move {
            signal.await;
            tracing::info!(%local_addr, "shutting down");
            health
                .set_service_status("", ServingStatus::NotServing)
                .await;
        };
        router
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), signal)
            .await
            .map_err(|e| Error::Server(e.to_string()))
    }
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT); only Ctrl-C if SIGTERM cannot be
/// watched.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!("cannot watch SIGTERM ({e}); stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;

    async fn channel(
        addr: SocketAddr,
    ) -> std::result::Result<tonic::transport::Channel, tonic::transport::Error> {
        tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .connect()
            .await
    }

    async fn health_of(addr: SocketAddr, service: &str) -> std::result::Result<i32, tonic::Status> {
        let channel = channel(addr)
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let mut client = HealthClient::new(channel);
        let resp = client
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await?;
        Ok(resp.into_inner().status)
    }

    async fn reflected_services(addr: SocketAddr) -> Vec<String> {
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        let mut client = ServerReflectionClient::new(channel(addr).await.expect("connects"));
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = client
            .server_reflection_info(tokio_stream::once(req))
            .await
            .expect("reflection call")
            .into_inner();
        let msg = stream.message().await.expect("message").expect("one");
        match msg.message_response {
            Some(MessageResponse::ListServicesResponse(list)) => {
                list.service.into_iter().map(|s| s.name).collect()
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn health_reflection_and_graceful_shutdown() {
        let server = bind("127.0.0.1:0", &Tls::plaintext(), Policy::new(), &[], |r| r)
            .await
            .expect("binds");
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        server
            .health()
            .set_service_status("bapay.test.v1.Thing", ServingStatus::NotServing)
            .await;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.serve_with_shutdown(async {
            let _ = stopped.await;
        }));

        assert_eq!(health_of(addr, "").await.expect("health"), 1); // SERVING
        assert_eq!(
            health_of(addr, "bapay.test.v1.Thing")
                .await
                .expect("health"),
            2
        );
        let services = reflected_services(addr).await;
        assert!(
            services.iter().any(|s| s == "grpc.health.v1.Health"),
            "{services:?}"
        );

        stop.send(()).expect("send");
        task.await.expect("joins").expect("clean stop");
        assert!(health_of(addr, "").await.is_err());
    }

    #[tokio::test]
    async fn colon_port_and_bad_addresses() {
        let plain = Tls::plaintext;
        let server = bind(":0", &plain(), Policy::new(), &[], |r| r)
            .await
            .expect("binds :0");
        assert_ne!(server.local_addr().port(), 0);
        assert!(matches!(
            bind("not an address", &plain(), Policy::new(), &[], |r| r).await,
            Err(Error::Server(_))
        ));
        assert!(matches!(
            bind(
                "127.0.0.1:0",
                &plain(),
                Policy::new(),
                &[b"garbage".as_slice()],
                |r| r
            )
            .await,
            Err(Error::Server(_))
        ));
    }
}
