//! A development CA and one certificate per node, for mutual TLS.
//!
//! Each certificate names its holder in a SAN URI,
//! `counterpart://<role>/<id>` (see `node_kit::tls`), and the host names
//! peers reach it by: `localhost` and `127.0.0.1` for local runs, and its
//! compose service name (`central`, `province-<id>`, `city-<id>`). The
//! operator's certificate (pairctl's queries) is a client certificate only.
//!
//! Files in the directory: `ca.pem` and `ca.key` (the CA; its key never
//! leaves this directory), `<id>.pem` and `<id>.key` per node. An existing
//! CA is reused, so certificates issued before stay valid; node
//! certificates are issued afresh each time (cheap, and their names follow
//! the scenario).
//!
//! [`node_dirs`] places them for containers instead: one directory per
//! node, holding only that node's key.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use anyhow::{anyhow, Context};
use counterpart_domain::scenario::Scenario;
use node_kit::tls::{Identity, Role, CA_FILE, CENTRAL_ID, OPERATOR_ID};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::cli::NodeRole;
use crate::compose::service_name;

pub mod node_dirs;

/// The CA's private key, next to `ca.pem`.
pub const CA_KEY_FILE: &str = "ca.key";
/// The CA certificate's common name.
pub const CA_NAME: &str = "Counterpart development CA";

/// One certificate to issue: who, and by which host names it is reached
/// (empty for a client-only identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub identity: Identity,
    pub hosts: Vec<String>,
}

/// Every identity of a run of `scenario`: central, each province, each
/// city, and the operator.
pub fn holders(scenario: &Scenario) -> Vec<Holder> {
    let node = |role: Role, node_role: NodeRole, id: &str| Holder {
        identity: Identity::new(role, id),
        hosts: vec![
            "localhost".to_string(),
            Ipv4Addr::LOCALHOST.to_string(),
            service_name(node_role, id),
        ],
    };
    let mut all = vec![node(Role::Central, NodeRole::Central, CENTRAL_ID)];
    all.extend(
        scenario
            .provinces
            .iter()
            .map(|p| node(Role::Province, NodeRole::Province, &p.id)),
    );
    all.extend(
        scenario
            .cities
            .iter()
            .map(|c| node(Role::City, NodeRole::City, &c.id)),
    );
    all.push(Holder {
        identity: Identity::new(Role::Operator, OPERATOR_ID),
        hosts: Vec::new(),
    });
    all
}

/// What [`write_all`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Whether the CA was made now (false: an existing one was reused).
    pub new_ca: bool,
    pub certificates: usize,
}

/// Writes the CA (unless `dir` has one) and a certificate and key for
/// every holder into `dir`, creating it.
pub fn write_all(dir: &Path, holders: &[Holder]) -> anyhow::Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (issuer, new_ca) = ca(dir)?;
    for holder in holders {
        issue(dir, &issuer, holder)?;
    }
    Ok(Written {
        new_ca,
        certificates: holders.len(),
    })
}

/// The CA of `dir`: read back if both files are there, else made and
/// written.
fn ca(dir: &Path) -> anyhow::Result<(Issuer<'static, KeyPair>, bool)> {
    let cert_path = dir.join(CA_FILE);
    let key_path = dir.join(CA_KEY_FILE);
    if cert_path.exists() && key_path.exists() {
        let cert = std::fs::read_to_string(&cert_path)
            .with_context(|| format!("cannot read {}", cert_path.display()))?;
        let key = std::fs::read_to_string(&key_path)
            .with_context(|| format!("cannot read {}", key_path.display()))?;
        let key = KeyPair::from_pem(&key)
            .map_err(|e| anyhow!("{}: not a private key: {e}", key_path.display()))?;
        let issuer = Issuer::from_ca_cert_pem(&cert, key)
            .map_err(|e| anyhow!("{}: not a CA certificate: {e}", cert_path.display()))?;
        return Ok((issuer, false));
    }
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    write_private(&key_path, &key.serialize_pem())?;
    write_public(&cert_path, &cert.pem())?;
    Ok((Issuer::new(params, key), true))
}

/// Issues `holder`'s certificate and key into `dir`.
fn issue(dir: &Path, issuer: &Issuer<'_, KeyPair>, holder: &Holder) -> anyhow::Result<()> {
    let who = &holder.identity;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, who.to_string());
    params.subject_alt_names.push(SanType::URI(
        who.uri().try_into().map_err(|e| anyhow!("{who}: {e}"))?,
    ));
    for host in &holder.hosts {
        params.subject_alt_names.push(match host.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(
                host.as_str()
                    .try_into()
                    .map_err(|e| anyhow!("{who}: host {host:?}: {e}"))?,
            ),
        });
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = if holder.hosts.is_empty() {
        vec![ExtendedKeyUsagePurpose::ClientAuth]
    } else {
        // Nodes both serve and call.
        vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ]
    };
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, issuer)?;
    write_private(&dir.join(format!("{}.key", who.id)), &key.serialize_pem())?;
    write_public(&dir.join(format!("{}.pem", who.id)), &cert.pem())?;
    Ok(())
}

fn write_public(path: &Path, pem: &str) -> anyhow::Result<()> {
    std::fs::write(path, pem).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a private key (or a file holding some) readable by its owner
/// only.
pub(crate) fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    // Replaced, not rewritten in place: a key file another user could read
    // before keeps no such permission.
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(pem.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use node_kit::tls::{identity_of_pem, NodeTls};

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("pairctl-certs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn scenario() -> Scenario {
        let path = crate::cli::scenario_path(None);
        counterpart_domain::scenario::load(&path).unwrap()
    }

    #[test]
    fn every_node_and_the_operator_get_a_certificate_naming_them() {
        let scenario = scenario();
        let all = holders(&scenario);
        assert_eq!(
            all.len(),
            2 + scenario.provinces.len() + scenario.cities.len()
        );
        let jiangsu = all
            .iter()
            .find(|h| h.identity == Identity::new(Role::Province, "jiangsu"))
            .unwrap();
        assert!(jiangsu.hosts.contains(&"province-jiangsu".to_string()));
        assert!(jiangsu.hosts.contains(&"127.0.0.1".to_string()));

        let dir = temp_dir("all");
        let written = write_all(&dir, &all).unwrap();
        assert!(written.new_ca);
        let pem = std::fs::read(dir.join("jiangsu.pem")).unwrap();
        assert_eq!(identity_of_pem(&pem).unwrap(), jiangsu.identity);
        let tls = NodeTls::load(&dir, "operator").unwrap();
        assert_eq!(tls.identity().role, Role::Operator);
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("jiangsu.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "a key readable by others: {mode:o}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_existing_ca_is_reused() {
        let dir = temp_dir("reuse");
        let central = &holders(&scenario())[..1];
        assert!(write_all(&dir, central).unwrap().new_ca);
        let ca = std::fs::read(dir.join(CA_FILE)).unwrap();
        let again = write_all(&dir, central).unwrap();
        assert!(!again.new_ca);
        assert_eq!(std::fs::read(dir.join(CA_FILE)).unwrap(), ca);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_node_cannot_load_another_nodes_files_as_its_own() {
        let dir = temp_dir("swap");
        write_all(&dir, &holders(&scenario())[..2]).unwrap();
        std::fs::copy(dir.join("central.pem"), dir.join("jiangsu.pem")).unwrap();
        let err = NodeTls::load(&dir, "jiangsu").unwrap_err();
        assert!(err.contains("not of jiangsu"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
