//! How central runs in a hot-path measurement: its state in memory or
//! journaled to disk, its callers on plain TCP or on mutual TLS. The
//! `pairctl up` default is durable over TLS; the in-memory plain-TCP
//! setting measures the protocol and gRPC alone.
//!
//! Over TLS every sender presents its own certificate on its own
//! connection, as the nodes do (central checks that a message's sender is
//! the caller), and the echo baseline is served over TLS with as many
//! connections, so the two still differ only in what central does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{anyhow, Context};
use counterpart_domain::scenario::Scenario;
use node_kit::client::{self, Dialer};
use node_kit::sequencer::Concurrency;
use node_kit::tls::{NodeTls, CENTRAL_ID, OPERATOR_ID};
use pairing_proto::v1::central_authority_client::CentralAuthorityClient;
use tonic::transport::Channel;

/// Where central keeps its state and how it is reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Setting {
    /// Central journals every change to a data directory and answers only
    /// once the change is on disk (the default `--durability`).
    pub durable: bool,
    /// Central and the echo serve mutual TLS; each sender dials with its
    /// own certificate.
    pub tls: bool,
    /// How central's handlers reach the authority.
    pub concurrency: Concurrency,
}

impl Setting {
    pub fn name(&self) -> String {
        format!(
            "{}, {}, handlers {}",
            if self.durable { "durable" } else { "in memory" },
            if self.tls { "mutual TLS" } else { "plain TCP" },
            match self.concurrency {
                Concurrency::Lock => "take the lock",
                Concurrency::Sequencer => "queue for the sequencer",
            }
        )
    }
}

/// A scratch directory for one rig (central's data and the certificates),
/// removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new() -> anyhow::Result<Scratch> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "counterpart-hot-paths-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
        Ok(Scratch { dir })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("central-data")
    }

    pub fn certs_dir(&self) -> PathBuf {
        self.dir.join("certs")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Issues a certificate for every node of `scenario`, central and the
/// operator into `dir`.
pub fn issue_certificates(dir: &Path, scenario: &Scenario) -> anyhow::Result<()> {
    pairctl::certs::write_all(dir, &pairctl::certs::holders(scenario)).map(drop)
}

/// Central's own TLS material from `dir`.
pub fn central_tls(dir: &Path) -> anyhow::Result<NodeTls> {
    NodeTls::load(dir, CENTRAL_ID).map_err(|e| anyhow!(e))
}

/// One client of a server per sender: over plain TCP every sender shares
/// one connection, over TLS each has its own, presenting its certificate.
#[derive(Debug, Clone)]
pub struct Senders {
    shared: Option<Channel>,
    own: HashMap<String, Channel>,
}

impl Senders {
    /// Channels to `endpoint` for `ids` (plus the operator), dialled as
    /// `setting` says with certificates from `certs`.
    pub fn dial(
        endpoint: &str,
        setting: Setting,
        certs: &Path,
        ids: impl Iterator<Item = String>,
    ) -> anyhow::Result<Senders> {
        if !setting.tls {
            return Ok(Senders {
                shared: Some(client::channel(endpoint)?),
                own: HashMap::new(),
            });
        }
        let mut own = HashMap::new();
        for id in ids.chain([OPERATOR_ID.to_string()]) {
            let tls = NodeTls::load(certs, &id).map_err(|e| anyhow!(e))?;
            own.insert(id, Dialer::new(Some(&tls)).channel(endpoint)?);
        }
        Ok(Senders { shared: None, own })
    }

    /// The channel `sender` sends on.
    pub fn channel(&self, sender: &str) -> Channel {
        match &self.shared {
            Some(shared) => shared.clone(),
            None => self
                .own
                .get(sender)
                .unwrap_or_else(|| panic!("no certificate was issued for {sender:?}"))
                .clone(),
        }
    }

    /// A client of central as `sender`.
    pub fn central(&self, sender: &str) -> CentralAuthorityClient<Channel> {
        CentralAuthorityClient::new(self.channel(sender))
    }

    /// The operator's client (status queries).
    pub fn operator(&self) -> CentralAuthorityClient<Channel> {
        self.central(OPERATOR_ID)
    }

    /// Every connection the senders hold: one on plain TCP.
    pub fn channels(&self) -> Vec<Channel> {
        match &self.shared {
            Some(shared) => vec![shared.clone()],
            None => self.own.values().cloned().collect(),
        }
    }
}
