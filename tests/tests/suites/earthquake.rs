//! The earthquake scenario (deploy/scenarios/earthquake.toml) end to end
//! through `pairctl up`: central, 2 provinces and 2 cities as 5 processes at
//! 200 ms a scenario day. The scenario declares two resource types of its
//! own, material/tent and personnel/engineer; every process loads the file
//! and so knows them. Tents and engineers are asked for by the cities,
//! shipped by the donors and received, by every node's own account: the
//! city's log of its request, the province's and the city's books as
//! `pairctl up` read them into the report's reconciliation.

use counterpart_domain::scenario;
use counterpart_tests::checks::{self, assert_holds, expect, reconciled_line};
use counterpart_tests::{scenario_path, up_file_with_env};
use serde_json::Value;

const TENT: &str = "material/tent";
const ENGINEER: &str = "personnel/engineer";

#[test]
fn tents_and_engineers_are_requested_shipped_and_received() {
    let dir = std::env::temp_dir().join(format!("counterpart-earthquake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The city's request is logged at info; a RUST_LOG of the caller's
    // must not hide it. Given to pairctl and its children only: the other
    // suites of this binary run beside this one.
    let run = up_file_with_env(
        env!("CARGO_BIN_EXE_pairctl-under-test"),
        &scenario_path("earthquake"),
        &dir,
        &[],
        &[("RUST_LOG", "info")],
    );
    let report = run.report;
    let scenario = scenario::load(&scenario_path("earthquake")).unwrap();

    assert_holds(
        "one closed case per city",
        checks::cases_as_expected(
            &report,
            &[expect("north", "closed", 1), expect("south", "closed", 1)],
        ),
    );
    assert_holds(
        "historical pairing",
        checks::historical_pairings(&report, &scenario),
    );
    assert_holds("legal order", checks::legal_order(&report));
    assert_holds("nodes' books reconcile", checks::books_reconcile(&report));

    for city in &scenario.cities {
        // Requested: the city's own log of what it asked for, and the
        // targets central set from it (never more than was asked).
        let log = std::fs::read_to_string(dir.join("logs").join(format!("{}.log", city.id)))
            .expect("the city's log");
        let request = log
            .lines()
            .find(|l| l.contains("requesting assistance"))
            .unwrap_or_else(|| panic!("{}: no request in its log", city.id));
        for t in [TENT, ENGINEER] {
            assert!(
                request.contains(&format!("{t:?}")),
                "{}: {t} not asked for: {request}",
                city.id
            );
        }
        let case = case_of(&report, &city.id);
        for t in [TENT, ENGINEER] {
            let target = case["targets"][t].as_i64().unwrap_or(0);
            assert!(target > 0, "{}: no {t} in the targets: {case}", city.id);
        }
        // Shipped and received: each donor's books and the city's.
        for donor in &city.historical_donors {
            for t in [TENT, ENGINEER] {
                let line = reconciled_line(&report, &city.id, donor, t)
                    .unwrap_or_else(|| panic!("{donor} -> {}: no {t} in the books", city.id));
                let n = |k: &str| line[k].as_i64().unwrap_or(0);
                assert!(n("shipped") > 0, "{donor} shipped no {t}: {line}");
                assert!(n("received") > 0, "{} received no {t}: {line}", city.id);
                assert_eq!(n("shipped"), n("received") + n("discrepancy"), "{line}");
                assert_eq!(n("central_received"), n("received"), "{line}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn case_of<'a>(report: &'a Value, city: &str) -> &'a Value {
    let cases = report["cases"].as_array().expect("cases");
    (cases.iter())
        .find(|c| c["city"] == city)
        .unwrap_or_else(|| panic!("no case of {city}"))
}
