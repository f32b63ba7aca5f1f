//! The launch plan of `pairctl up`, decided before any process starts:
//! which nodes, with which arguments, and how long the run may take.

use std::path::Path;
use std::time::Duration;

use counterpart_domain::policy::Policy;
use counterpart_domain::scenario::Scenario;

use node_kit::durable::Durability;

use crate::cli::{NodeRole, PairingModeArg};

/// Headroom over the scenario's own length: process start-up, registration,
/// and the report at the end.
pub const RUN_TIMEOUT_SLACK: Duration = Duration::from_secs(60);

/// One node to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    pub id: String,
    pub role: NodeRole,
}

/// The node id of central (PROTOCOL.md, "Nodes and ids").
pub const CENTRAL_ID: &str = "central";

pub fn central() -> NodeSpec {
    NodeSpec {
        id: CENTRAL_ID.into(),
        role: NodeRole::Central,
    }
}

/// Every province, then every city, in scenario order.
pub fn donors_and_recipients(scenario: &Scenario) -> Vec<NodeSpec> {
    let provinces = scenario.provinces.iter().map(|p| NodeSpec {
        id: p.id.clone(),
        role: NodeRole::Province,
    });
    let cities = scenario.cities.iter().map(|c| NodeSpec {
        id: c.id.clone(),
        role: NodeRole::City,
    });
    provinces.chain(cities).collect()
}

/// What the launcher tells every child.
#[derive(Debug, Clone)]
pub struct ChildOptions<'a> {
    pub scenario_path: &'a Path,
    pub day_ms: i64,
    pub pairing_mode: Option<PairingModeArg>,
    /// How central acts, when not as the scenario says.
    pub policy: Option<&'a Policy>,
    /// The certificates' directory, when the run uses mutual TLS.
    pub tls_dir: Option<&'a Path>,
    /// Each node's data directory is `<data_root>/<id>`; none in memory.
    pub data_root: Option<&'a Path>,
    /// How hard the nodes press each save to disk (with a data root).
    pub durability: Durability,
}

/// The arguments of `pairctl node ...` for `spec`. `central_endpoint` is
/// required for provinces and cities.
pub fn child_args(
    spec: &NodeSpec,
    options: &ChildOptions<'_>,
    central_endpoint: Option<&str>,
) -> Vec<String> {
    let mut args = vec![
        "node".to_string(),
        spec.role.as_str().to_string(),
        "--scenario".to_string(),
        options.scenario_path.display().to_string(),
        "--id".to_string(),
        spec.id.clone(),
        "--listen".to_string(),
        "127.0.0.1:0".to_string(),
    ];
    if let Some(root) = options.data_root {
        args.extend([
            "--data-dir".to_string(),
            root.join(&spec.id).display().to_string(),
        ]);
        if options.durability == Durability::Full {
            args.extend(["--durability".to_string(), "full".to_string()]);
        }
    }
    if let Some(dir) = options.tls_dir {
        args.extend(["--tls-dir".to_string(), dir.display().to_string()]);
    }
    match spec.role {
        NodeRole::Central => {
            args.extend(["--day-ms".to_string(), options.day_ms.to_string()]);
            if let Some(mode) = options.pairing_mode {
                args.extend(["--pairing-mode".to_string(), mode.as_str().to_string()]);
            }
            if let Some(policy) = options.policy {
                args.extend(["--policy".to_string(), policy.to_string()]);
            }
        }
        NodeRole::Province | NodeRole::City => {
            let central = central_endpoint.expect("provinces and cities need central's endpoint");
            args.extend(["--central".to_string(), central.to_string()]);
        }
    }
    args
}

/// Scenario days from the start date to the end date.
pub fn scenario_days(scenario: &Scenario) -> i64 {
    (scenario.end_date - scenario.start_date).num_days()
}

/// Wall ms a scenario day takes at least on the lockstep clock, whatever
/// its pace, for the run's timeout: 24 steps of 36 nodes each, measured
/// at 60-100 ms a day on 2 cores (BENCHMARKS.md), with room for a loaded
/// machine.
pub const LOCKSTEP_DAY_FLOOR_MS: i64 = 1_000;

/// How long `up` waits for central to report the run finished: the given
/// override, else twice the scenario's wall length plus the slack.
pub fn run_timeout(scenario_days: i64, day_ms: i64, override_s: Option<u64>) -> Duration {
    if let Some(s) = override_s {
        return Duration::from_secs(s);
    }
    let wall_ms = 2u64
        .saturating_mul(scenario_days.max(0) as u64)
        .saturating_mul(day_ms.max(0) as u64);
    Duration::from_millis(wall_ms) + RUN_TIMEOUT_SLACK
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn options(path: &Path) -> ChildOptions<'_> {
        ChildOptions {
            scenario_path: path,
            day_ms: 50,
            pairing_mode: Some(PairingModeArg::Optimized),
            policy: None,
            tls_dir: None,
            data_root: Some(Path::new("/run/data")),
            durability: Durability::Normal,
        }
    }

    #[test]
    fn timeout_is_twice_the_scenario_plus_a_minute() {
        // 60 days at 500 ms a day: 30 s of scenario, 60 s doubled, +60 s.
        assert_eq!(run_timeout(60, 500, None), Duration::from_secs(120));
        assert_eq!(run_timeout(0, 500, None), RUN_TIMEOUT_SLACK);
    }

    #[test]
    fn an_explicit_timeout_wins() {
        assert_eq!(run_timeout(60, 500, Some(5)), Duration::from_secs(5));
    }

    #[test]
    fn an_absurd_scenario_does_not_overflow() {
        assert!(run_timeout(i64::MAX, i64::MAX, None) > Duration::from_secs(1 << 40));
        assert_eq!(run_timeout(-3, 500, None), RUN_TIMEOUT_SLACK);
    }

    #[test]
    fn central_gets_the_clock_speed_and_mode() {
        let path = PathBuf::from("/s.toml");
        let args = child_args(&central(), &options(&path), None);
        assert_eq!(
            args,
            [
                "node",
                "central",
                "--scenario",
                "/s.toml",
                "--id",
                "central",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                "/run/data/central",
                "--day-ms",
                "50",
                "--pairing-mode",
                "optimized"
            ]
        );
    }

    #[test]
    fn a_city_gets_central_endpoint_and_no_clock() {
        let path = PathBuf::from("/s.toml");
        let spec = NodeSpec {
            id: "huangshi".into(),
            role: NodeRole::City,
        };
        let args = child_args(&spec, &options(&path), Some("http://127.0.0.1:9"));
        assert_eq!(&args[..2], ["node", "city"]);
        assert!(args.windows(2).any(|w| w == ["--id", "huangshi"]));
        assert!(args
            .windows(2)
            .any(|w| w == ["--data-dir", "/run/data/huangshi"]));
        assert!(args
            .windows(2)
            .any(|w| w == ["--central", "http://127.0.0.1:9"]));
        assert!(!args.contains(&"--day-ms".to_string()));
    }

    #[test]
    fn the_node_command_accepts_what_the_launcher_passes() {
        use crate::cli::{Cli, Command};
        use clap::Parser;
        let path = PathBuf::from("/s.toml");
        let spec = NodeSpec {
            id: "jiangsu".into(),
            role: NodeRole::Province,
        };
        let args = child_args(&spec, &options(&path), Some("http://127.0.0.1:9"));
        let cli = Cli::try_parse_from(std::iter::once("pairctl".to_string()).chain(args)).unwrap();
        let Command::Node(node) = cli.command else {
            panic!("not node")
        };
        assert_eq!(node.role, NodeRole::Province);
        assert_eq!(node.id.as_deref(), Some("jiangsu"));
        assert_eq!(node.central.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(node.scenario, path);

        let args = child_args(&central(), &options(&path), None);
        let cli = Cli::try_parse_from(std::iter::once("pairctl".to_string()).chain(args)).unwrap();
        let Command::Node(node) = cli.command else {
            panic!("not node")
        };
        assert_eq!((node.role, node.day_ms), (NodeRole::Central, 50));
        assert_eq!(node.pairing_mode, Some(PairingModeArg::Optimized));
    }

    #[test]
    fn with_tls_every_child_gets_the_certificates_directory() {
        let path = PathBuf::from("/s.toml");
        let certs = PathBuf::from("/run/certs");
        let options = ChildOptions {
            tls_dir: Some(&certs),
            ..options(&path)
        };
        for args in [
            child_args(&central(), &options, None),
            child_args(
                &NodeSpec {
                    id: "wuhan".into(),
                    role: NodeRole::City,
                },
                &options,
                Some("https://127.0.0.1:9"),
            ),
        ] {
            assert!(
                args.windows(2).any(|w| w == ["--tls-dir", "/run/certs"]),
                "{args:?}"
            );
            use crate::cli::{Cli, Command};
            use clap::Parser;
            let cli =
                Cli::try_parse_from(std::iter::once("pairctl".to_string()).chain(args)).unwrap();
            let Command::Node(node) = cli.command else {
                panic!("not node")
            };
            assert_eq!(node.tls_dir, Some(certs.clone()));
        }
    }

    #[test]
    #[should_panic(expected = "central's endpoint")]
    fn a_province_without_central_is_a_bug() {
        let path = PathBuf::from("/s.toml");
        let spec = NodeSpec {
            id: "jiangsu".into(),
            role: NodeRole::Province,
        };
        child_args(&spec, &options(&path), None);
    }
}
