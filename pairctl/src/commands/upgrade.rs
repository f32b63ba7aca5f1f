//! `pairctl upgrade`: asks the `pairctl up` logging to LOG_DIR to replace
//! its nodes, one at a time, by DIR/pairctl; waits for the outcome and
//! prints what the supervisor did (see `crate::upgrade`).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cli::UpgradeArgs;
use crate::upgrade::{Request, LOG_FILE, RESULT_FILE};

const POLL: Duration = Duration::from_millis(200);

pub async fn run(args: UpgradeArgs) -> anyhow::Result<ExitCode> {
    let exe = args.binaries.join("pairctl");
    anyhow::ensure!(
        exe.is_file(),
        "{} is not a file: --binaries DIR must hold a pairctl",
        exe.display()
    );
    let exe = exe
        .canonicalize()
        .context("cannot resolve the new pairctl")?;
    let seed = args
        .seed
        .unwrap_or_else(|| counterpart_domain::clock::unix_now_ms() as u64);
    println!(
        "Asking the run logging to {} to upgrade every node (seed {seed})",
        args.log_dir.display()
    );
    Request { exe, seed }.send(&args.log_dir)?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    let result_path = args.log_dir.join(RESULT_FILE);
    let result = loop {
        if let Ok(result) = std::fs::read_to_string(&result_path) {
            break result;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no outcome within {} s: is `pairctl up --log-dir {}` running?",
            args.timeout_s,
            args.log_dir.display()
        );
        tokio::time::sleep(POLL).await;
    };
    print!(
        "{}",
        std::fs::read_to_string(args.log_dir.join(LOG_FILE)).unwrap_or_default()
    );
    Ok(if result.starts_with("done") {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
