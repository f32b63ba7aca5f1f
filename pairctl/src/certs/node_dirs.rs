//! `pairctl certs --node-dirs`: one directory per node, for containers.
//!
//! In compose every node mounts a volume of its own at `/certs`, made by
//! the one-shot `certs` service: `ca.pem`, and the node's own certificate
//! and key, nothing else. A node's container never holds another node's
//! key, nor the CA's key (which stays in the CA directory, mounted by the
//! `certs` service alone). The directories are named after the nodes'
//! compose services (`central`, `province-<id>`, `city-<id>`).
//!
//! Central's directory also holds the operator's certificate and key, so
//! that `pairctl` run inside central's container (`docker compose exec
//! central pairctl status`) queries as the operator. The operator may only
//! read what central already knows, so central's user gains nothing by it.
//! The dashboard's directory ([`DASHBOARD_HOME`]) holds an operator's
//! certificate and key of its own, and nothing else: the dashboard follows
//! central as the operator without ever holding central's key.
//!
//! Run again, it changes nothing that is complete: the `certs` service
//! runs on every `up`, and a second `up` reuses the first one's keys. A
//! directory whose `ca.pem` is not the CA's (a CA made anew), or that lacks
//! a holder's certificate or key, is issued afresh, whole.
//!
//! With an [`Owner`] (the containers' user; giving files away needs root),
//! every node directory and file is given to it: the directory 0700, the
//! key 0600, the certificates 0644.

use std::fmt;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Context;
use node_kit::tls::{identity_of_pem, Identity, Role, CA_FILE, CENTRAL_ID};

use super::{ca, issue, Holder};
use crate::cli::NodeRole;
use crate::compose::service_name;

/// A numeric user and group, `UID:GID`: scratch images have no
/// `/etc/passwd` to look a name up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

impl FromStr for Owner {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not UID:GID (two numbers, e.g. 65534:65534)");
        let (uid, gid) = s.split_once(':').ok_or_else(bad)?;
        Ok(Owner {
            uid: uid.parse().map_err(|_| bad())?,
            gid: gid.parse().map_err(|_| bad())?,
        })
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.uid, self.gid)
    }
}

/// What [`write_node_dirs`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Whether the CA was made now (false: an existing one was reused).
    pub new_ca: bool,
    /// Certificates issued now.
    pub issued: usize,
    /// Certificates found complete and kept.
    pub kept: usize,
}

/// The dashboard's directory (its compose service's name).
pub const DASHBOARD_HOME: &str = "dashboard";

/// Every directory that holds a certificate and key of `identity`: its
/// home, and for the operator also the dashboard's (each its own key).
pub fn homes(identity: &Identity) -> Vec<String> {
    let mut homes = vec![home(identity)];
    if identity.role == Role::Operator {
        homes.push(DASHBOARD_HOME.to_string());
    }
    homes
}

/// The directory, under the nodes' directory, that holds `identity`'s
/// files: its compose service's name; the operator's are central's.
pub fn home(identity: &Identity) -> String {
    match identity.role {
        Role::Central | Role::Operator => service_name(NodeRole::Central, CENTRAL_ID),
        Role::Province => service_name(NodeRole::Province, &identity.id),
        Role::City => service_name(NodeRole::City, &identity.id),
    }
}

/// The CA in `ca_dir` (made unless there), and each holder's certificate
/// and key in `nodes_dir/<home>`, with a copy of `ca.pem`; complete
/// directories of this CA are kept. With `owner`, the node directories
/// and their files are given to it.
pub fn write_node_dirs(
    ca_dir: &Path,
    nodes_dir: &Path,
    holders: &[Holder],
    owner: Option<Owner>,
) -> anyhow::Result<Placed> {
    std::fs::create_dir_all(ca_dir)
        .with_context(|| format!("cannot create {}", ca_dir.display()))?;
    let (issuer, new_ca) = ca(ca_dir)?;
    let ca_path = ca_dir.join(CA_FILE);
    let ca_pem =
        std::fs::read(&ca_path).with_context(|| format!("cannot read {}", ca_path.display()))?;
    let mut placed = Placed {
        new_ca,
        issued: 0,
        kept: 0,
    };
    for (home, members) in by_home(holders) {
        let dir = nodes_dir.join(home);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let copy = dir.join(CA_FILE);
        let same_ca = std::fs::read(&copy).is_ok_and(|pem| pem == ca_pem);
        if same_ca && members.iter().all(|h| complete(&dir, &h.identity)) {
            placed.kept += members.len();
        } else {
            // A directory is issued whole, and its `ca.pem` written last:
            // one cut short (a crash, a full disk) has no `ca.pem` of this
            // CA, so the next run issues it again rather than keeping a
            // certificate of an older CA beside a new `ca.pem`.
            match std::fs::remove_file(&copy) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("cannot remove {}", copy.display()))
                }
                _ => {}
            }
            for holder in &members {
                issue(&dir, &issuer, holder)?;
            }
            std::fs::write(&copy, &ca_pem)
                .with_context(|| format!("cannot write {}", copy.display()))?;
            placed.issued += members.len();
        }
        // Every time, not only when issued: cheap, and it mends a
        // directory whose modes someone changed.
        for holder in &members {
            settle(&dir, &holder.identity.id, owner)?;
        }
    }
    Ok(placed)
}

/// The holders grouped by the directory that holds their files, in the
/// order given.
fn by_home(holders: &[Holder]) -> Vec<(String, Vec<&Holder>)> {
    let mut groups: Vec<(String, Vec<&Holder>)> = Vec::new();
    for holder in holders {
        for home in homes(&holder.identity) {
            match groups.iter_mut().find(|(h, _)| *h == home) {
                Some((_, members)) => members.push(holder),
                None => groups.push((home, vec![holder])),
            }
        }
    }
    groups
}

/// Whether `dir` already holds `who`'s certificate and key.
fn complete(dir: &Path, who: &Identity) -> bool {
    let theirs = std::fs::read(dir.join(format!("{}.pem", who.id)))
        .is_ok_and(|pem| identity_of_pem(&pem).is_ok_and(|named| named == *who));
    theirs && dir.join(format!("{}.key", who.id)).is_file()
}

/// Modes (and owner, if any) of a node directory and `id`'s files in it:
/// only the owner may enter the directory or read the key.
fn settle(dir: &Path, id: &str, owner: Option<Owner>) -> anyhow::Result<()> {
    let files: [(PathBuf, u32); 4] = [
        (dir.join(CA_FILE), 0o644),
        (dir.join(format!("{id}.pem")), 0o644),
        (dir.join(format!("{id}.key")), 0o600),
        (dir.to_path_buf(), 0o700),
    ];
    for (path, mode) in files {
        if let Some(owner) = owner {
            std::os::unix::fs::chown(&path, Some(owner.uid), Some(owner.gid)).with_context(
                || format!("cannot give {} to {owner} (it takes root)", path.display()),
            )?;
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::holders;
    use node_kit::tls::NodeTls;
    use std::os::unix::fs::MetadataExt as _;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pairctl-nodedirs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn small() -> Vec<Holder> {
        let path = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/scenarios/small.toml"
        ));
        holders(&counterpart_domain::scenario::load(&path).unwrap())
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn each_node_gets_a_directory_with_the_ca_and_only_its_own_key() {
        let root = temp_dir("layout");
        let (ca_dir, nodes) = (root.join("ca"), root.join("nodes"));
        let all = small();
        let placed = write_node_dirs(&ca_dir, &nodes, &all, None).unwrap();
        // The operator's certificate twice: central's and the dashboard's.
        assert_eq!(
            (placed.new_ca, placed.issued, placed.kept),
            (true, all.len() + 1, 0)
        );
        // One directory per node, the operator lives with central, and the
        // dashboard's.
        assert_eq!(names_in(&nodes).len(), all.len());
        assert_eq!(
            names_in(&nodes.join("dashboard")),
            ["ca.pem", "operator.key", "operator.pem"]
        );
        assert!(NodeTls::load(&nodes.join("dashboard"), "operator").is_ok());
        assert_eq!(
            names_in(&nodes.join("province-alpha")),
            ["alpha.key", "alpha.pem", "ca.pem"]
        );
        assert_eq!(
            names_in(&nodes.join("central")),
            [
                "ca.pem",
                "central.key",
                "central.pem",
                "operator.key",
                "operator.pem"
            ]
        );
        assert!(NodeTls::load(&nodes.join("city-north"), "north").is_ok());
        assert!(NodeTls::load(&nodes.join("central"), "operator").is_ok());
        let key = std::fs::metadata(nodes.join("city-north/north.key")).unwrap();
        assert_eq!(key.mode() & 0o777, 0o600);
        let dir = std::fs::metadata(nodes.join("city-north")).unwrap();
        assert_eq!(dir.mode() & 0o777, 0o700);
        assert!(names_in(&ca_dir).contains(&"ca.key".to_string()));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_second_run_keeps_every_key_and_mends_only_what_is_missing() {
        let root = temp_dir("again");
        let (ca_dir, nodes) = (root.join("ca"), root.join("nodes"));
        let all = small();
        write_node_dirs(&ca_dir, &nodes, &all, None).unwrap();
        let key = std::fs::read(nodes.join("province-alpha/alpha.key")).unwrap();
        std::fs::remove_file(nodes.join("city-north/north.key")).unwrap();
        let again = write_node_dirs(&ca_dir, &nodes, &all, None).unwrap();
        assert_eq!(
            (again.new_ca, again.issued, again.kept),
            (false, 1, all.len())
        );
        // Central's directory is issued whole: the operator's too.
        std::fs::remove_file(nodes.join("central/central.key")).unwrap();
        let third = write_node_dirs(&ca_dir, &nodes, &all, None).unwrap();
        assert_eq!((third.issued, third.kept), (2, all.len() - 1));
        assert_eq!(
            std::fs::read(nodes.join("province-alpha/alpha.key")).unwrap(),
            key
        );
        assert!(NodeTls::load(&nodes.join("city-north"), "north").is_ok());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_new_ca_reissues_every_node() {
        let root = temp_dir("newca");
        let (ca_dir, nodes) = (root.join("ca"), root.join("nodes"));
        let all = small();
        write_node_dirs(&ca_dir, &nodes, &all, None).unwrap();
        std::fs::remove_dir_all(&ca_dir).unwrap();
        let again = write_node_dirs(&ca_dir, &nodes, &all, None).unwrap();
        assert_eq!(
            (again.new_ca, again.issued, again.kept),
            (true, all.len() + 1, 0)
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_owner_is_given_every_node_file() {
        let root = temp_dir("owner");
        // Giving a file to oneself needs no privilege, so this runs as
        // any user; the containers' user is another uid, given as root.
        std::fs::create_dir_all(&root).unwrap();
        let made = std::fs::metadata(&root).unwrap();
        let me = Owner {
            uid: made.uid(),
            gid: made.gid(),
        };
        write_node_dirs(
            &root.join("ca"),
            &root.join("nodes"),
            &small()[..1],
            Some(me),
        )
        .unwrap();
        let key = std::fs::metadata(root.join("nodes/central/central.key")).unwrap();
        assert_eq!(
            (key.uid(), key.gid(), key.mode() & 0o777),
            (me.uid, me.gid, 0o600)
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn an_owner_is_two_numbers() {
        assert_eq!(
            "65534:65534".parse::<Owner>(),
            Ok(Owner {
                uid: 65534,
                gid: 65534
            })
        );
        for bad in ["65534", "nobody:nogroup", "1:", ":1", "-1:0"] {
            let err = bad.parse::<Owner>().unwrap_err();
            assert!(err.contains("UID:GID"), "{bad}: {err}");
        }
    }
}
