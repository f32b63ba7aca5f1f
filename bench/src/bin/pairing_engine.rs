//! Point 2 of the benchmarks, the Rust side: central's min-cost assignment
//! (`central::pairing::min_cost_assignment_flat`) on a matrix file, timed,
//! with its peak memory. `scripts/pairing_vs_scipy.sh` runs it beside
//! SciPy's `linear_sum_assignment` on the same files.
//!
//! pairing_engine write --rows 16 --cols 19 --seed 1 --out /tmp/m.bin
//! pairing_engine solve /tmp/m.bin --reps 5     (one JSON line on stdout)
//! pairing_engine machine                       (the machine line)

use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, Subcommand};
use counterpart_bench::machine::{self, Machine};
use counterpart_bench::matrix::Matrix;
use counterpart_bench::procs;
use counterpart_bench::stats;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes a seeded dense random matrix (costs uniform in [0, 1000)).
    Write {
        #[arg(long)]
        rows: usize,
        #[arg(long)]
        cols: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Solves the matrix `reps` times; prints times, peak memory and the
    /// optimal total as one JSON line.
    Solve {
        file: PathBuf,
        #[arg(long, default_value_t = 3)]
        reps: usize,
    },
    /// Prints the machine line and the load average.
    Machine,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Write {
            rows,
            cols,
            seed,
            out,
        } => Matrix::random(rows, cols, seed).write(&out)?,
        Command::Solve { file, reps } => solve(&file, reps.max(1))?,
        Command::Machine => {
            println!("{}", Machine::probe());
            println!("load average: {}", machine::load_average());
        }
    }
    Ok(())
}

fn solve(file: &std::path::Path, reps: usize) -> anyhow::Result<()> {
    let matrix = Matrix::read(file)?;
    let rss_before_kib = procs::status_kib("self", "VmRSS").unwrap_or(0);
    let peak_reset = procs::reset_peak_rss();
    let mut seconds = Vec::with_capacity(reps);
    let mut total = 0.0;
    for _ in 0..reps {
        let started = Instant::now();
        let result =
            central::pairing::min_cost_assignment_flat(&matrix.cost, matrix.rows, matrix.cols);
        seconds.push(started.elapsed().as_secs_f64());
        total = matrix.total(&result);
        std::hint::black_box(result);
    }
    let peak_kib = procs::status_kib("self", "VmHWM").unwrap_or(0);
    println!(
        "{}",
        serde_json::json!({
            "solver": "central",
            "rows": matrix.rows,
            "cols": matrix.cols,
            "reps": reps,
            "seconds_median": stats::median(&seconds),
            "seconds_min": stats::spread(&seconds).0,
            "rss_before_kib": rss_before_kib,
            "peak_kib": peak_kib,
            // Only meaningful when the peak could be reset to the RSS then.
            "peak_extra_kib": if peak_reset { peak_kib.saturating_sub(rss_before_kib) as i64 } else { -1 },
            "total_cost": total,
        })
    );
    Ok(())
}
