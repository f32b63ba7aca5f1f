//! The command line: every subcommand, its arguments and their defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod sim;
mod sweep;
mod versions;
use central::cli::{parse_pace, ClockArgs};
use counterpart_domain::clock::parse_day_ms;
use counterpart_domain::policy::Policy;
use counterpart_domain::scenario::PairingMode;
pub use sim::SimArgs;
pub use sweep::SweepArgs;
pub use versions::{parse_role_binary, RoleBinary, UpgradeArgs};

/// Where `pairctl status` and friends look for central unless told.
pub const DEFAULT_CENTRAL: &str = "http://127.0.0.1:50051";
/// The scenario `pairctl up` runs unless told, relative to the current
/// directory (the repository root, usually).
pub const DEFAULT_SCENARIO: &str = "deploy/scenarios/hubei-2020.toml";
/// The same scenario found from the crate's sources, for runs started from
/// another directory.
pub const FALLBACK_SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/scenarios/hubei-2020.toml"
);

#[derive(Debug, Parser)]
#[command(
    name = "pairctl",
    version,
    about = "Operate Counterpart, the pairing-assistance protocol: launch a local cluster, query central"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a whole scenario locally: central, every province and every city
    /// as separate processes; show progress; print and write the report.
    Up(UpArgs),
    /// The cluster's status: clock, nodes, cases by stage.
    Status(CentralArgs),
    /// Which provinces assist which city.
    Pairings(CentralArgs),
    /// Per pair and resource type: targeted, shipped, received; donor costs.
    Ledger(LedgerArgs),
    /// The run report: summary on stdout, JSON to --out.
    Report(ReportArgs),
    /// Replaces the nodes of a running `pairctl up` one at a time by
    /// DIR/pairctl, in an order drawn from a printed seed.
    Upgrade(UpgradeArgs),
    /// Serves the live dashboard of a running cluster: a web page of the
    /// pairings, cases, ledger and messages, fed by central.
    Dashboard(DashboardArgs),
    /// Runs one node in this process (what `up` starts as a child).
    #[command(hide = true)]
    Node(NodeArgs),
    /// Checks a run's traces against the protocol: one trace per case,
    /// three services, real call edges, stages in order; exit 1 on a
    /// violation.
    CheckTraces(CheckTracesArgs),
    /// Collect OTLP traces in memory and write them out on Ctrl-C (for
    /// machines without Jaeger; check them with check-traces).
    OtlpSink(OtlpSinkArgs),
    /// Asks a node's gRPC health service whether it serves: exit 0 if so,
    /// 1 otherwise (the containers' health check).
    Probe(ProbeArgs),
    /// Writes the docker compose file of a scenario.
    Compose(ComposeArgs),
    /// Writes the Kubernetes manifests of a scenario (a kustomize base and
    /// a Jaeger overlay), or with --secrets the nodes' certificate Secrets.
    K8s(K8sArgs),
    /// Creates a development CA (or reuses DIR's) and a certificate and key
    /// per node of a scenario, plus the operator's, for mutual TLS.
    Certs(CertsArgs),
    /// Prints the message catalog: per RPC, who may send it, its stage and
    /// the spans of its sender and receiver.
    Catalog,
    /// Runs the whole cluster in a deterministic simulator for many seeds,
    /// each with faults drawn from it, checks every run, and prints the
    /// command that replays a failed seed. Exit 1 if any seed failed.
    Sim(SimArgs),
    /// Runs every policy and seed of a scenario in the simulator and
    /// writes what each does for patients: DIR/results.csv, summary.md
    /// (means, 95 % intervals, differences from historical) and plots.
    Sweep(SweepArgs),
}

#[derive(Debug, Args)]
pub struct CertsArgs {
    /// The directory to write ca.pem, ca.key, <id>.pem and <id>.key into
    /// (with --node-dirs: the CA's two files only).
    #[arg(long)]
    pub out: PathBuf,
    /// Scenario file [default: deploy/scenarios/hubei-2020.toml]
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Give each node a directory of its own under DIR, named after its
    /// compose service (central, province-<id>, city-<id>): ca.pem and its
    /// own certificate and key; central's also holds the operator's. A
    /// directory already complete for this CA is kept as it is.
    #[arg(long, value_name = "DIR")]
    pub node_dirs: Option<PathBuf>,
    /// With --node-dirs: give every node directory and file to UID:GID
    /// (the containers' user); needs root.
    #[arg(long, value_name = "UID:GID", requires = "node_dirs")]
    pub owner: Option<crate::certs::node_dirs::Owner>,
}

/// Mutual TLS for a client of the nodes (pairctl's queries, the probe).
#[derive(Debug, Clone, Args)]
pub struct ClientTlsArgs {
    /// Call over TLS with the certificates in DIR (ca.pem, <tls-id>.pem,
    /// <tls-id>.key; see `pairctl certs`). Without it: plain TCP.
    #[arg(long, env = "PAIRING_TLS_DIR")]
    pub tls_dir: Option<PathBuf>,
    /// Whose certificate of DIR to present.
    #[arg(long, default_value = node_kit::tls::OPERATOR_ID)]
    pub tls_id: String,
}

impl ClientTlsArgs {
    /// The TLS material, when a directory was given.
    pub fn load(&self) -> anyhow::Result<Option<node_kit::tls::NodeTls>> {
        self.tls_dir
            .as_deref()
            .map(|dir| node_kit::tls::NodeTls::load(dir, &self.tls_id))
            .transpose()
            .map_err(anyhow::Error::msg)
    }
}

#[derive(Debug, Args)]
pub struct OtlpSinkArgs {
    /// Where to listen for OTLP/gRPC exports.
    #[arg(long, default_value = "127.0.0.1:4317")]
    pub listen: String,
    /// Where to write the spans (a JSON array) when stopped.
    #[arg(long, default_value = "spans.json")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    /// The node's address: host:port or a URL.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: String,
    /// The gRPC service to ask about; empty asks about the server as a whole.
    #[arg(long, default_value = "")]
    pub service: String,
    /// Fail when no answer came within this many milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub timeout_ms: u64,
    #[command(flatten)]
    pub tls: ClientTlsArgs,
}

#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// Scenario file [default: deploy/scenarios/hubei-2020.toml]; the image
    /// must hold it under /scenarios.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Wall milliseconds per scenario day (PAIRING_DAY_MS overrides it when
    /// compose runs).
    #[arg(long, default_value_t = 500, value_parser = parse_day_ms)]
    pub day_ms: i64,
    /// Write the file here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct K8sArgs {
    /// Scenario file [default: deploy/scenarios/hubei-2020.toml]; it goes
    /// in the manifests' ConfigMap.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Wall milliseconds per scenario day (central's PAIRING_DAY_MS).
    #[arg(long, default_value_t = 500, value_parser = parse_day_ms)]
    pub day_ms: i64,
    /// The directory to write base/ and overlays/jaeger/ into; with
    /// --secrets, the file to write the Secrets to [default: stdout].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Instead of the manifests, write one Secret per node from the
    /// directories `pairctl certs --node-dirs DIR` made. The output holds
    /// private keys: apply it, never commit it.
    #[arg(long, value_name = "DIR")]
    pub secrets: Option<PathBuf>,
}

/// Where central listens, for the query commands.
#[derive(Debug, Args)]
pub struct CentralArgs {
    /// Central's endpoint, e.g. http://127.0.0.1:50051 (the scheme may be
    /// left out).
    #[arg(long, env = "PAIRING_CENTRAL", default_value = DEFAULT_CENTRAL)]
    pub central: String,
    #[command(flatten)]
    pub tls: ClientTlsArgs,
}

#[derive(Debug, Args)]
pub struct DashboardArgs {
    #[command(flatten)]
    pub central: CentralArgs,
    /// Where to serve the page (host:port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Jaeger's UI, where each case's trace link points.
    #[arg(long, env = "PAIRING_JAEGER_URL", default_value = crate::dashboard::DEFAULT_JAEGER_URL)]
    pub jaeger_url: String,
}

#[derive(Debug, Args)]
pub struct LedgerArgs {
    #[command(flatten)]
    pub central: CentralArgs,
    /// Ask every province and city for its own books and show, per pair
    /// and resource type: committed, shipped, received, in transit, and
    /// central's figures, then every difference naming its pair and type:
    /// units lost or counted twice, shipments sent but not counted, receipts
    /// the province holds unlike the city's, central's ledger unlike the
    /// books. Exit status 1 on any difference or node whose books could not
    /// be read.
    #[arg(long)]
    pub reconcile: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub central: CentralArgs,
    /// Write the report JSON to this file; `-` prints it on stdout instead
    /// of the summary (which then goes to stderr), e.g. from a container.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Scenario file [default: deploy/scenarios/hubei-2020.toml]
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Wall milliseconds per scenario day: on the lockstep clock the least
    /// each day takes (0: as fast as the nodes go), on the wall clock its
    /// speed.
    #[arg(long, default_value_t = 500, value_parser = parse_pace)]
    pub day_ms: i64,
    #[command(flatten)]
    pub clock: ClockArgs,
    /// Write the run report (JSON) to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Override the scenario's pairing mode.
    #[arg(long, value_enum)]
    pub pairing_mode: Option<PairingModeArg>,
    /// How central acts (docs/POLICY.md): historical, optimized, none,
    /// delay:N, no-supervision, cap:X, joined with `+`.
    #[arg(long)]
    pub policy: Option<Policy>,
    /// Each node's log (its stderr) goes to DIR/NODE-ID.log.
    #[arg(long, default_value = "target/pairctl-logs")]
    pub log_dir: PathBuf,
    /// Give up after this many seconds [default: 2 x scenario days x day-ms + 60 s]
    #[arg(long)]
    pub timeout_s: Option<u64>,
    /// Send every node's spans to this OTLP/gRPC collector (e.g. Jaeger at
    /// http://127.0.0.1:4317); sets OTEL_EXPORTER_OTLP_ENDPOINT for them.
    /// Without it, the variable pairctl itself was given (if any) applies.
    #[arg(long)]
    pub otlp: Option<String>,
    /// Run the nodes over plain TCP. By default `up` makes a CA and a
    /// certificate per node in LOG_DIR/certs and every call is mutual TLS.
    #[arg(long)]
    pub insecure: bool,
    /// Each node keeps its durable state in DIR/NODE-ID; a fresh run needs
    /// a fresh DIR [default: target/pairctl-data/run-<unix ms>].
    #[arg(long, conflicts_with = "in_memory")]
    pub data_dir: Option<PathBuf>,
    /// Keep every node's state in memory only (no data directories): a node
    /// that dies then ends the run. For measuring what durability costs.
    #[arg(long)]
    pub in_memory: bool,
    /// How hard each node presses a save to disk: `normal` survives a
    /// killed process, `full` a power cut too (an fsync per commit).
    #[arg(long, value_enum, default_value_t)]
    pub durability: node_kit::durable::Durability,
    /// A node that dies is started again on its data directory, up to this
    /// many times per node (0: a dead node ends the run).
    #[arg(long, default_value_t = crate::cluster::DEFAULT_MAX_RESTARTS)]
    pub max_restarts: u32,
    /// Run every node of ROLE (central, province or city) as DIR/pairctl
    /// instead of this pairctl: a mixed-version run, e.g. the provinces
    /// from the previous release (compat/build-previous.sh). Repeatable.
    #[arg(long = "binaries", value_name = "ROLE=DIR", value_parser = parse_role_binary)]
    pub binaries: Vec<RoleBinary>,
    /// Serve the live dashboard here (host:port, e.g. 127.0.0.1:8080; port
    /// 0 picks a free one). It keeps showing the finished run until Ctrl-C.
    #[arg(long, value_name = "ADDR")]
    pub dashboard: Option<String>,
    /// Jaeger's UI, where the dashboard's trace links point.
    #[arg(long, env = "PAIRING_JAEGER_URL", default_value = crate::dashboard::DEFAULT_JAEGER_URL)]
    pub jaeger_url: String,
}

#[derive(Debug, Args)]
pub struct CheckTracesArgs {
    /// A Jaeger JSON export ({"data": [...]}) or a JSON array of spans.
    pub file: PathBuf,
}

/// The role of a node started by `pairctl node`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NodeRole {
    Central,
    Province,
    City,
}

impl NodeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Central => "central",
            NodeRole::Province => "province",
            NodeRole::City => "city",
        }
    }
}

#[derive(Debug, Args)]
pub struct NodeArgs {
    pub role: NodeRole,
    #[arg(long)]
    pub scenario: PathBuf,
    /// The node's id in the scenario (province or city id; ignored for
    /// central).
    #[arg(long)]
    pub id: Option<String>,
    /// Central's endpoint (provinces and cities).
    #[arg(long)]
    pub central: Option<String>,
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// The endpoint peers should use, when not the bound address.
    #[arg(long)]
    pub advertise: Option<String>,
    /// Wall milliseconds per scenario day (central; 0 on the lockstep
    /// clock: as fast as the nodes go).
    #[arg(long, default_value_t = 500, value_parser = parse_pace)]
    pub day_ms: i64,
    #[command(flatten)]
    pub clock: ClockArgs,
    #[arg(long, value_enum)]
    pub pairing_mode: Option<PairingModeArg>,
    /// Central: how it acts (docs/POLICY.md), as `up --policy`.
    #[arg(long)]
    pub policy: Option<Policy>,
    /// Serve and call over mutual TLS with DIR/ca.pem, DIR/<id>.pem and
    /// DIR/<id>.key.
    #[arg(long)]
    pub tls_dir: Option<PathBuf>,
    /// The node's durable state; a node restarted on it resumes its run.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// With a data dir: `normal` or `full` (see `central --help`).
    #[arg(long, env = "PAIRING_DURABILITY", value_enum, default_value_t)]
    pub durability: node_kit::durable::Durability,
}

/// `--pairing-mode` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PairingModeArg {
    Historical,
    Optimized,
}

impl From<PairingModeArg> for PairingMode {
    fn from(arg: PairingModeArg) -> Self {
        match arg {
            PairingModeArg::Historical => PairingMode::Historical,
            PairingModeArg::Optimized => PairingMode::Optimized,
        }
    }
}

impl PairingModeArg {
    pub fn as_str(self) -> &'static str {
        PairingMode::from(self).as_str()
    }
}

/// Accepts `host:port` as well as a full URL: gRPC needs the scheme.
pub fn central_url(arg: &str) -> String {
    let arg = arg.trim();
    if arg.contains("://") {
        arg.to_string()
    } else {
        format!("http://{arg}")
    }
}

/// The scenario to run: the one given, else the default relative to the
/// current directory, else the default next to the sources.
pub fn scenario_path(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        let local = PathBuf::from(DEFAULT_SCENARIO);
        if local.exists() {
            local
        } else {
            PathBuf::from(FALLBACK_SCENARIO)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("pairctl").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn up_defaults() {
        let Command::Up(up) = parse(&["up"]).command else {
            panic!("not up")
        };
        assert_eq!(up.day_ms, 500);
        assert_eq!(up.log_dir, PathBuf::from("target/pairctl-logs"));
        assert!(up.scenario.is_none() && up.report.is_none() && up.timeout_s.is_none());
        assert!(up.pairing_mode.is_none());
    }

    #[test]
    fn up_takes_every_option() {
        let cli = parse(&[
            "up",
            "--scenario",
            "s.toml",
            "--day-ms",
            "50",
            "--report",
            "/tmp/r.json",
            "--pairing-mode",
            "optimized",
            "--timeout-s",
            "9",
        ]);
        let Command::Up(up) = cli.command else {
            panic!("not up")
        };
        assert_eq!(up.day_ms, 50);
        assert_eq!(up.pairing_mode, Some(PairingModeArg::Optimized));
        assert_eq!(up.timeout_s, Some(9));
        assert_eq!(up.scenario, Some(PathBuf::from("s.toml")));
    }

    /// 0 is the lockstep clock's "as fast as the nodes go" (central
    /// refuses it on the wall clock, where a day needs a length); below 0
    /// is no pace at all.
    #[test]
    fn a_zero_day_runs_as_fast_as_it_goes_and_a_negative_one_is_refused() {
        let Command::Up(up) = Cli::try_parse_from(["pairctl", "up", "--day-ms", "0"])
            .unwrap()
            .command
        else {
            panic!("not up")
        };
        assert_eq!(up.day_ms, 0);
        let err = Cli::try_parse_from(["pairctl", "up", "--day-ms=-1"]).unwrap_err();
        assert!(err.to_string().contains("--day-ms"), "{err}");
    }

    #[test]
    fn unknown_pairing_mode_is_refused() {
        assert!(Cli::try_parse_from(["pairctl", "up", "--pairing-mode", "random"]).is_err());
    }

    #[test]
    fn central_defaults_to_the_local_port() {
        // The env var would override the default; this test only holds
        // when it is not set.
        if std::env::var_os("PAIRING_CENTRAL").is_some() {
            return;
        }
        let Command::Status(args) = parse(&["status"]).command else {
            panic!("not status")
        };
        assert_eq!(args.central, DEFAULT_CENTRAL);
    }

    #[test]
    fn node_parses_its_role_and_endpoints() {
        let cli = parse(&[
            "node",
            "province",
            "--scenario",
            "s.toml",
            "--id",
            "jiangsu",
            "--central",
            "http://127.0.0.1:1",
        ]);
        let Command::Node(node) = cli.command else {
            panic!("not node")
        };
        assert_eq!(node.role, NodeRole::Province);
        assert_eq!(node.id.as_deref(), Some("jiangsu"));
        assert_eq!(node.listen, "127.0.0.1:0");
    }

    #[test]
    fn central_url_adds_the_scheme_when_missing() {
        assert_eq!(central_url("127.0.0.1:5"), "http://127.0.0.1:5");
        assert_eq!(central_url(" http://a:1 "), "http://a:1");
        assert_eq!(central_url("https://a:1"), "https://a:1");
    }

    #[test]
    fn a_given_scenario_path_wins() {
        let p = PathBuf::from("/x/y.toml");
        assert_eq!(scenario_path(Some(p.clone())), p);
    }

    #[test]
    fn pairing_mode_maps_to_the_domain() {
        assert_eq!(
            PairingMode::from(PairingModeArg::Historical),
            PairingMode::Historical
        );
        assert_eq!(PairingModeArg::Optimized.as_str(), "optimized");
    }
}
