//! What the per-daemon access tests call: every method of a service,
//! listed from its file descriptor set, and a raw call of any method with
//! an empty request, so that a test can show each RPC of the table answers
//! UNAUTHENTICATED or PERMISSION_DENIED to the wrong caller (the policy
//! answers before any handler decodes the request).

use prost::Message;
use tonic::transport::Channel;

/// Every `/pkg.Service/Method` of the services of `package` (e.g.
/// `"bapay.calculator.v1"`) in `descriptor_set`, with whether the server
/// streams its answer.
pub fn methods(descriptor_set: &[u8], package: &str) -> Vec<(String, bool)> {
    let Ok(set) = prost_types::FileDescriptorSet::decode(descriptor_set) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for f in &set.file {
        let pkg = f.package.clone().unwrap_or_default();
        if pkg != package {
            continue;
        }
        for s in &f.service {
            for m in &s.method {
                out.push((
                    format!(
                        "/{pkg}.{}/{}",
                        s.name.clone().unwrap_or_default(),
                        m.name.clone().unwrap_or_default()
                    ),
                    m.server_streaming.unwrap_or(false),
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Calls `path` with an empty message; the status code it answers (`Ok`
/// when the handler accepted the empty request).
pub async fn call(channel: Channel, path: &str) -> tonic::Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    if let Err(e) = grpc.ready().await {
        return tonic::Status::unavailable(e.to_string()).code();
    }
    let Ok(path) = path.parse::<http::uri::PathAndQuery>() else {
        return tonic::Code::InvalidArgument;
    };
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    match grpc.unary(tonic::Request::new(()), path, codec).await {
        Ok(_) => tonic::Code::Ok,
        Err(s) => s.code(),
    }
}

/// Runs the whole table of `policy` against the server at `url`, whose
/// services are those of `package` in `descriptor_set`, with the
/// certificates of the deployment in `pki` (`bapay certs` layout): a
/// plaintext client is refused; with no certificate every method not open
/// answers UNAUTHENTICATED; with every role the table does not allow,
/// PERMISSION_DENIED; with every role it allows, something else (the
/// handler's own answer to an empty request; streaming methods are not
/// called with an allowed role). Health answers without a certificate.
/// Returns the number of calls checked, or the first mismatch.
pub async fn check_table(
    url: &str,
    pki: &std::path::Path,
    descriptor_set: &[u8],
    package: &str,
    policy: &super::Policy,
) -> Result<usize, String> {
    use super::{Access, Role, Tls};
    let chan = |tls: &Tls| -> Result<Channel, String> {
        Ok(tls.endpoint(url).map_err(|e| e.to_string())?.connect_lazy())
    };
    let plain = Tls::plaintext()
        .endpoint(&url.replace("https://", "http://"))
        .map_err(|e| e.to_string())?
        .connect_lazy();
    let health = "/grpc.health.v1.Health/Check";
    let got = call(plain, health).await;
    if got == tonic::Code::Ok {
        return Err("a plaintext client was answered".into());
    }
    let stranger = chan(&Tls::ca_only(&pki.join("ca.pem")).map_err(|e| e.to_string())?)?;
    if call(stranger.clone(), health).await != tonic::Code::Ok {
        return Err("health does not answer without a certificate".into());
    }
    let mut checked = 0;
    let list = methods(descriptor_set, package);
    if list.is_empty() {
        return Err(format!("no methods of {package} in the descriptor set"));
    }
    for (path, streaming) in list {
        let access = policy.access(&path).cloned();
        let allowed = |r: Role| match &access {
            Some(Access::Open) => true,
            Some(Access::Roles(rs)) => rs.contains(&r),
            Some(Access::RolesOrToken(rs)) => rs.contains(&r),
            None => false,
        };
        let code = call(stranger.clone(), &path).await;
        let want_open = access == Some(Access::Open);
        if !want_open && code != tonic::Code::Unauthenticated {
            return Err(format!("{path} without a certificate: {code:?}"));
        }
        checked += 1;
        for role in Role::ALL {
            let tls = Tls::from_dir(pki, role).map_err(|e| e.to_string())?;
            if allowed(role) {
                if streaming {
                    continue;
                }
                let code = call(chan(&tls)?, &path).await;
                if matches!(
                    code,
                    tonic::Code::Unauthenticated | tonic::Code::PermissionDenied
                ) {
                    return Err(format!("{path} as {role} (allowed): {code:?}"));
                }
            } else {
                let code = call(chan(&tls)?, &path).await;
                if code != tonic::Code::PermissionDenied {
                    return Err(format!("{path} as {role} (not allowed): {code:?}"));
                }
            }
            checked += 1;
        }
    }
    Ok(checked)
}
