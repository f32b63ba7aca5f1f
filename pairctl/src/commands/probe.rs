//! `pairctl probe`: asks a node's gRPC health service (grpc.health.v1
//! Health/Check) whether it serves, and exits 0 if so, 1 otherwise. It is
//! the container health check: the images are `FROM scratch`, with no
//! shell and no grpc_health_probe, so a binary of the image must probe.
//!
//! One line on stdout (SERVING) or stderr (why not): Docker keeps it in the
//! container's health log.

use std::process::ExitCode;
use std::time::Duration;

use node_kit::client::Dialer;
use tonic::transport::Endpoint;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::cli::{central_url, ProbeArgs};

pub async fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let timeout = Duration::from_millis(args.timeout_ms);
    let tls = args.tls.load()?;
    let dialer = Dialer::new(tls.as_ref());
    let url = dialer.endpoint_url(&central_url(&args.addr));
    // The whole probe, connection included, fits in the timeout: Docker
    // kills a probe that overruns and counts it as a failure anyway, but
    // without the reason.
    let outcome = tokio::time::timeout(timeout, check(&dialer, &url, &args.service, timeout)).await;
    let verdict = match outcome {
        Ok(Ok(ServingStatus::Serving)) => {
            println!("{url}: SERVING");
            return Ok(ExitCode::SUCCESS);
        }
        Ok(Ok(status)) => status.as_str_name().to_string(),
        Ok(Err(e)) => e,
        Err(_) => format!("no answer within {} ms", args.timeout_ms),
    };
    eprintln!("{url}: {verdict}");
    Ok(ExitCode::FAILURE)
}

/// The status `url` reports for `service` ("" is the server as a whole).
async fn check(
    dialer: &Dialer,
    url: &str,
    service: &str,
    timeout: Duration,
) -> Result<ServingStatus, String> {
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| format!("--addr {url:?} is not a valid address: {e}"))?;
    if let Some(tls) = dialer.tls_config() {
        endpoint = endpoint
            .tls_config(tls.clone())
            .map_err(|e| format!("TLS: {e}"))?;
    }
    let channel = endpoint
        .connect_timeout(timeout)
        .connect()
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let request = node_kit::client::request_with_deadline(
        HealthCheckRequest {
            service: service.to_string(),
        },
        timeout,
    );
    let response = HealthClient::new(channel)
        .check(request)
        .await
        .map_err(|status| format!("{:?}: {}", status.code(), status.message()))?;
    Ok(ServingStatus::try_from(response.into_inner().status).unwrap_or(ServingStatus::Unknown))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(addr: String, service: &str) -> ProbeArgs {
        ProbeArgs {
            addr,
            service: service.to_string(),
            timeout_ms: 2000,
            tls: crate::cli::ClientTlsArgs {
                tls_dir: None,
                tls_id: node_kit::tls::OPERATOR_ID.to_string(),
            },
        }
    }

    /// A server with only the health service, as every node has.
    async fn health_server() -> (std::net::SocketAddr, tonic_health::server::HealthReporter) {
        let (listener, addr) = node_kit::server::bind("127.0.0.1:0").await.unwrap();
        let (router, reporter) = node_kit::server::router();
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        tokio::spawn(router.serve_with_incoming(incoming));
        (addr, reporter)
    }

    #[tokio::test]
    async fn a_serving_node_passes() {
        let (addr, _reporter) = health_server().await;
        let code = run(args(addr.to_string(), "")).await.unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
    }

    #[tokio::test]
    async fn over_tls_a_node_passes_only_with_a_certificate_of_its_ca() {
        use node_kit::tls::{Identity, NodeTls, Role};
        let dir = std::env::temp_dir().join(format!("pairctl-probe-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let holders = [
            crate::certs::Holder {
                identity: Identity::new(Role::Central, "central"),
                hosts: vec!["127.0.0.1".into()],
            },
            crate::certs::Holder {
                identity: Identity::new(Role::Operator, "operator"),
                hosts: vec![],
            },
        ];
        crate::certs::write_all(&dir, &holders).unwrap();
        let tls = NodeTls::load(&dir, "central").unwrap();
        let (listener, addr) = node_kit::server::bind("127.0.0.1:0").await.unwrap();
        let (router, _reporter) = node_kit::server::router_with_tls(Some(&tls)).unwrap();
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        tokio::spawn(router.serve_with_incoming(incoming));

        let mut probe = args(addr.to_string(), "");
        probe.tls.tls_dir = Some(dir.clone());
        for id in ["central", "operator"] {
            probe.tls.tls_id = id.to_string();
            assert_eq!(
                run(probe.clone()).await.unwrap(),
                ExitCode::SUCCESS,
                "as {id}"
            );
        }
        // Without a certificate: refused in the handshake.
        let plain = args(addr.to_string(), "");
        assert_eq!(run(plain).await.unwrap(), ExitCode::FAILURE);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_service_not_serving_fails() {
        let (addr, reporter) = health_server().await;
        reporter
            .set_service_status(
                "pairing.v1.CentralAuthority",
                tonic_health::ServingStatus::NotServing,
            )
            .await;
        let code = run(args(addr.to_string(), "pairing.v1.CentralAuthority")).await;
        assert_eq!(code.unwrap(), ExitCode::FAILURE);
        // A service the node never registered is NOT_FOUND: also a failure.
        let code = run(args(addr.to_string(), "no.such.Service")).await;
        assert_eq!(code.unwrap(), ExitCode::FAILURE);
    }

    #[tokio::test]
    async fn nobody_listening_fails_within_the_timeout() {
        let (listener, addr) = node_kit::server::bind("127.0.0.1:0").await.unwrap();
        drop(listener);
        let started = std::time::Instant::now();
        let code = run(args(addr.to_string(), "")).await.unwrap();
        assert_eq!(code, ExitCode::FAILURE);
        assert!(started.elapsed() < Duration::from_millis(2500));
    }

    #[tokio::test]
    async fn a_silent_listener_fails_at_the_timeout() {
        // Accepts TCP but never speaks HTTP/2: the probe must not hang.
        let (listener, addr) = node_kit::server::bind("127.0.0.1:0").await.unwrap();
        let started = std::time::Instant::now();
        let mut probe = args(addr.to_string(), "");
        probe.timeout_ms = 300;
        let code = run(probe).await.unwrap();
        assert_eq!(code, ExitCode::FAILURE);
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(listener);
    }
}
