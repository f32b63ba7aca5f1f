//! The committed deploy/docker-compose.yml is exactly what `pairctl compose`
//! makes of hubei-2020. After changing the generator or the scenario's
//! nodes, regenerate it:
//!
//! ```sh
//! cargo run -p pairctl -- compose --scenario deploy/scenarios/hubei-2020.toml \
//!     --day-ms 500 --out deploy/docker-compose.yml
//! ```

use std::path::PathBuf;

use pairctl::compose::{render, ComposePlan};

/// The generator's default clock speed, which the committed file uses.
const DAY_MS: i64 = 500;

fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(relative)
}

#[test]
fn the_committed_compose_file_is_the_generators_output() {
    let scenario_path = repo_file("deploy/scenarios/hubei-2020.toml");
    let scenario = counterpart_domain::scenario::load(&scenario_path).unwrap();
    let generated = render(&ComposePlan::from_scenario(&scenario, &scenario_path, DAY_MS).unwrap());
    let committed = std::fs::read_to_string(repo_file("deploy/docker-compose.yml"))
        .expect("deploy/docker-compose.yml is committed");
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "deploy/docker-compose.yml differs from the generator's output from line {}:\n  \
             committed: {:?}\n  generated: {:?}\nregenerate it (see this file's doc)",
            first_difference + 1,
            committed.lines().nth(first_difference),
            generated.lines().nth(first_difference),
        );
    }
}

#[test]
fn the_committed_file_runs_every_node_of_hubei_2020() {
    // The certificates' one-shot service, 1 central + 19 provinces + 16
    // cities, the dashboard, Jaeger and the OTLP sink.
    let committed = std::fs::read_to_string(repo_file("deploy/docker-compose.yml")).unwrap();
    let services = committed
        .lines()
        .skip_while(|l| *l != "services:")
        .skip(1)
        .take_while(|l| l.starts_with(' '))
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "));
    let names: Vec<&str> = services.map(|l| l.trim().trim_end_matches(':')).collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("province-")).count(),
        19
    );
    assert_eq!(names.iter().filter(|n| n.starts_with("city-")).count(), 16);
    assert_eq!(names.len(), 1 + 1 + 19 + 16 + 3, "{names:?}");
    assert!(names.contains(&"province-jiangsu") && names.contains(&"city-huangshi"));
    assert!(names.contains(&"certs"));
    let healthchecks = committed.matches("\"/pairctl\", \"probe\"").count();
    assert_eq!(healthchecks, 36, "every node has a health check");
    // Every node but central waits for central; so does the dashboard.
    assert_eq!(committed.matches("condition: service_healthy").count(), 36);
    assert_eq!(
        committed
            .matches("condition: service_completed_successfully")
            .count(),
        37,
        "every node, and the dashboard, waits for its certificates"
    );
    // The CA's volume and one per node and the dashboard's, each mounted by
    // its service alone.
    let volumes = committed.split("\nvolumes:\n").nth(1).unwrap();
    assert_eq!(volumes.lines().count(), 1 + 36 + 1);
    assert_eq!(committed.matches(":/certs:ro\"").count(), 37);
    for volume in volumes.lines().map(|l| l.trim().trim_end_matches(':')) {
        let mounts = committed
            .matches(&format!("\"{volume}:/certs:ro\""))
            .count();
        assert!(
            volume == "certs-ca" || mounts == 1,
            "{volume} mounted {mounts} times"
        );
    }
}
