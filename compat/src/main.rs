//! `counterpart-compat`: checks the contract against its released baseline
//! (exit 1 naming every break), or, with `--write-baseline`, makes the
//! current contract the baseline and prints the line CHANGELOG.md needs.

use std::process::ExitCode;

fn main() -> ExitCode {
    let baseline_path = concat!(env!("CARGO_MANIFEST_DIR"), "/baseline/pairing.v1.binpb");
    let current = pairing_proto::FILE_DESCRIPTOR_SET;
    if std::env::args().nth(1).as_deref() == Some("--write-baseline") {
        if let Err(e) = std::fs::write(baseline_path, current) {
            eprintln!("counterpart-compat: cannot write {baseline_path}: {e}");
            return ExitCode::FAILURE;
        }
        println!("wrote {baseline_path}; add to CHANGELOG.md, with what changed and why:");
        println!(
            "contract baseline {}",
            counterpart_compat::baseline_digest(current)
        );
        return ExitCode::SUCCESS;
    }
    let baseline = match counterpart_compat::decode(counterpart_compat::BASELINE) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("counterpart-compat: the baseline: {e}");
            return ExitCode::FAILURE;
        }
    };
    let breaks = counterpart_compat::breaks(&baseline, &counterpart_compat::current());
    for b in &breaks {
        println!("{b}");
    }
    if breaks.is_empty() {
        println!("pairing.v1 keeps the released contract (WIRE_JSON rules)");
        ExitCode::SUCCESS
    } else {
        println!("{} change(s) break the released contract", breaks.len());
        ExitCode::FAILURE
    }
}
