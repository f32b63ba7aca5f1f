//! Mutual TLS between the nodes, and who a caller is.
//!
//! Every node holds a certificate signed by the run's CA (`pairctl certs`
//! makes them) whose subject alternative name carries its identity as a
//! URI, `counterpart://<role>/<id>`: `counterpart://province/jiangsu`,
//! `counterpart://central/central`, `counterpart://operator/operator`. With
//! TLS, a server accepts only clients with a certificate of that CA (the
//! handshake refuses the rest), and each RPC reads the caller's identity
//! from the certificate with [`caller`] to decide whether that caller may
//! make that call. Plain TCP stays possible for tests and `--insecure`
//! runs; then nobody is known and nothing is checked.
//!
//! The files of a node, in its TLS directory: `ca.pem` (the CA's
//! certificate), `<id>.pem` and `<id>.key` (its own certificate and key).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::transport::{Certificate, ClientTlsConfig, ServerTlsConfig};
use tonic::{Request, Status};
use x509_parser::extensions::GeneralName;

/// The URI scheme of identities in certificates.
pub const IDENTITY_SCHEME: &str = "counterpart";
/// The CA certificate's file name in a TLS directory.
pub const CA_FILE: &str = "ca.pem";
/// The id of central's identity (PROTOCOL.md, "Nodes and ids").
pub const CENTRAL_ID: &str = "central";
/// The id of the operator's identity (pairctl's queries).
pub const OPERATOR_ID: &str = "operator";
/// A client that connects and then never finishes the handshake is
/// dropped after this long.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a certificate holder is in the protocol: the catalog's roles.
pub use counterpart_protocol::Role;

/// Who a certificate says its holder is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    pub role: Role,
    pub id: String,
}

impl Identity {
    pub fn new(role: Role, id: &str) -> Self {
        Identity {
            role,
            id: id.to_string(),
        }
    }

    /// The SAN URI that carries this identity: `counterpart://city/wuhan`.
    pub fn uri(&self) -> String {
        format!("{IDENTITY_SCHEME}://{}/{}", self.role, self.id)
    }

    /// Parses a SAN URI; `None` if it is not a Counterpart identity.
    pub fn from_uri(uri: &str) -> Option<Identity> {
        let rest = uri.strip_prefix(IDENTITY_SCHEME)?.strip_prefix("://")?;
        let (role, id) = rest.split_once('/')?;
        let valid_id = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let role = Role::parse(role)?;
        valid_id.then(|| Identity::new(role, id))
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.role, self.id)
    }
}

/// The identity in a DER certificate's SAN URIs: exactly one must be a
/// Counterpart identity, so a certificate cannot speak for two nodes.
pub fn identity_of_der(der: &[u8]) -> Result<Identity, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("the certificate does not parse: {e}"))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| format!("its subject alternative names do not parse: {e}"))?
        .ok_or("it has no subject alternative names")?;
    let mut found = san
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::URI(uri) => Identity::from_uri(uri),
            _ => None,
        });
    match (found.next(), found.next()) {
        (Some(identity), None) => Ok(identity),
        (None, _) => Err(format!(
            "it names no {IDENTITY_SCHEME}://<role>/<id> URI among its subject alternative names"
        )),
        (Some(_), Some(_)) => Err("it names more than one identity".to_string()),
    }
}

/// The identity in the first certificate of a PEM file.
pub fn identity_of_pem(pem: &[u8]) -> Result<Identity, String> {
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(pem).map_err(|e| format!("not a PEM certificate: {e}"))?;
    identity_of_der(&pem.contents)
}

/// Who made `request`, from the certificate its TLS client presented.
/// UNAUTHENTICATED if there is none (a plain TCP connection) or it names
/// no identity. The handshake has already checked the certificate against
/// the CA; this only reads it.
pub fn caller<T>(request: &Request<T>) -> Result<Identity, Status> {
    let certs = request.peer_certs().ok_or_else(|| {
        Status::unauthenticated(
            "no client certificate: connect over TLS with a certificate of the run's CA",
        )
    })?;
    let first = certs
        .first()
        .ok_or_else(|| Status::unauthenticated("the client presented no certificate"))?;
    identity_of_der(first.as_ref())
        .map_err(|e| Status::unauthenticated(format!("client certificate: {e}")))
}

/// Whether a server knows who calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Callers {
    /// Plain TCP: nobody is known, nothing is checked.
    #[default]
    Unchecked,
    /// TLS with client certificates: every RPC checks its caller.
    Verified,
}

impl Callers {
    /// The caller of `request`: `None` when unchecked, else the verified
    /// identity or UNAUTHENTICATED.
    pub fn of<T>(self, request: &Request<T>) -> Result<Option<Identity>, Status> {
        match self {
            Callers::Unchecked => Ok(None),
            Callers::Verified => caller(request).map(Some),
        }
    }
}

/// The sender id a message claims must be the caller's own.
pub fn same_sender(caller: &Identity, rpc: &str, sender_id: &str) -> Result<(), Status> {
    if sender_id == caller.id {
        Ok(())
    } else {
        Err(Status::permission_denied(format!(
            "{rpc}: header.sender_id {sender_id:?} is not the caller, {caller} (from its certificate)"
        )))
    }
}

/// The caller must have one of `roles`.
pub fn role_in(caller: &Identity, rpc: &str, roles: &[Role]) -> Result<(), Status> {
    if roles.contains(&caller.role) {
        return Ok(());
    }
    let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    Err(Status::permission_denied(format!(
        "{rpc}: the caller, {caller}, is a {}; only {} may call it",
        caller.role,
        allowed.join(" or ")
    )))
}

/// A node's TLS material: the CA it trusts and its own certificate and key.
#[derive(Debug, Clone)]
pub struct NodeTls {
    ca: Certificate,
    identity: tonic::transport::Identity,
    me: Identity,
}

impl NodeTls {
    /// Reads `dir/ca.pem`, `dir/<id>.pem` and `dir/<id>.key`. Fails, naming
    /// the file, if one is missing or if the certificate is not `id`'s.
    pub fn load(dir: &Path, id: &str) -> Result<NodeTls, String> {
        let read = |name: String| -> Result<(PathBuf, Vec<u8>), String> {
            let path = dir.join(name);
            std::fs::read(&path)
                .map(|bytes| (path.clone(), bytes))
                .map_err(|e| format!("TLS: cannot read {}: {e}", path.display()))
        };
        let (_, ca) = read(CA_FILE.to_string())?;
        let (cert_path, cert) = read(format!("{id}.pem"))?;
        let (_, key) = read(format!("{id}.key"))?;
        // A bad CA file would otherwise surface only as failed handshakes.
        x509_parser::pem::parse_x509_pem(&ca)
            .map_err(|e| e.to_string())
            .and_then(|(_, pem)| pem.parse_x509().map(drop).map_err(|e| e.to_string()))
            .map_err(|e| {
                format!(
                    "TLS: {}: not a PEM certificate: {e}",
                    dir.join(CA_FILE).display()
                )
            })?;
        let me =
            identity_of_pem(&cert).map_err(|e| format!("TLS: {}: {e}", cert_path.display()))?;
        if me.id != id {
            return Err(format!(
                "TLS: {} is the certificate of {me}, not of {id}",
                cert_path.display()
            ));
        }
        Ok(NodeTls::from_pem(&ca, &cert, &key, me))
    }

    /// From PEM bytes already read; `me` is who the certificate names.
    pub fn from_pem(ca: &[u8], cert: &[u8], key: &[u8], me: Identity) -> NodeTls {
        NodeTls {
            ca: Certificate::from_pem(ca),
            identity: tonic::transport::Identity::from_pem(cert, key),
            me,
        }
    }

    /// Who this node is.
    pub fn identity(&self) -> &Identity {
        &self.me
    }

    /// The server side: our certificate, and clients must present one
    /// signed by the CA.
    pub fn server_config(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(self.identity.clone())
            .client_ca_root(self.ca.clone())
            .timeout(HANDSHAKE_TIMEOUT)
    }

    /// The client side: servers must present a certificate of the CA for
    /// the host dialled; we present ours.
    pub fn client_config(&self) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(self.ca.clone())
            .identity(self.identity.clone())
            .timeout(HANDSHAKE_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_uris_round_trip() {
        let id = Identity::new(Role::Province, "jiangsu");
        assert_eq!(id.uri(), "counterpart://province/jiangsu");
        assert_eq!(Identity::from_uri(&id.uri()), Some(id));
        let op = Identity::new(Role::Operator, OPERATOR_ID);
        assert_eq!(Identity::from_uri(&op.uri()), Some(op));
    }

    #[test]
    fn foreign_or_malformed_uris_are_no_identity() {
        for uri in [
            "https://province/jiangsu",
            "counterpart://mayor/wuhan",
            "counterpart://city/",
            "counterpart://city",
            "counterpart://city/wu/han",
            "counterpart://city/wu han",
        ] {
            assert_eq!(Identity::from_uri(uri), None, "{uri}");
        }
    }

    #[test]
    fn a_plain_request_has_no_caller() {
        let status = caller(&Request::new(())).unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
        assert!(status.message().contains("no client certificate"));
        assert_eq!(Callers::Unchecked.of(&Request::new(())).unwrap(), None);
        assert!(Callers::Verified.of(&Request::new(())).is_err());
    }

    #[test]
    fn refusals_name_what_was_wrong() {
        let city = Identity::new(Role::City, "wuhan");
        let denied = role_in(&city, "Assign", &[Role::Central]).unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert!(
            denied.message().contains("city wuhan"),
            "{}",
            denied.message()
        );
        assert!(denied.message().contains("only central"));
        assert!(role_in(&city, "Request", &[Role::Province, Role::City]).is_ok());
        let spoof = same_sender(&city, "SubmitReport", "huangshi").unwrap_err();
        assert_eq!(spoof.code(), tonic::Code::PermissionDenied);
        assert!(spoof.message().contains("\"huangshi\""));
        assert!(same_sender(&city, "SubmitReport", "wuhan").is_ok());
    }
}
