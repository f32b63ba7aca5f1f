//! The rows `hot_paths` prints: one per path and level, central beside the
//! echo; how central's lock was waited for and held meanwhile; and for a
//! durable central what its writer did.

use node_kit::durable::hold::{self, LockTotals};
use node_kit::durable::writer::{self, WriteTotals};

use crate::load::LoadResult;
use crate::machine;

/// Central's share of the echo's throughput that the issue asks for on
/// every path at every level (BENCHMARKS.md table 1).
pub const TARGET_RATIO: f64 = 0.80;

/// The lock's and the writer's process-wide totals at one moment: taken
/// before a measurement, they print what central's lock and writer did
/// during it.
pub struct Totals {
    lock: LockTotals,
    write: WriteTotals,
}

impl Totals {
    pub fn now() -> Totals {
        Totals {
            lock: hold::totals(),
            write: writer::totals(),
        }
    }

    /// Prints, under `central`'s row, what happened since `self`.
    pub fn print_since(&self, central: &LoadResult) {
        print_lock(&hold::totals().since(&self.lock), central);
        print_writer(&writer::totals().since(&self.write), central);
    }
}

/// The table's title and column heads for one path.
pub fn print_header(path: &str, request_bytes: usize, reply_bytes: usize) {
    println!();
    println!("## {path}: request {request_bytes} B, reply {reply_bytes} B (protobuf-encoded)");
    println!(
        "{:>9} | {:>12} {:>9} {:>9} | {:>12} {:>9} {:>9} | {:>6} | {:>14}",
        "in flight",
        "central/s",
        "p50 us",
        "p99 us",
        "echo/s",
        "p50 us",
        "p99 us",
        "ratio",
        "load avg"
    );
}

/// One row: central and the echo at `level` in flight, and central's
/// share of the echo's throughput, which it returns.
pub fn print_row(level: usize, central: &LoadResult, echo: &LoadResult) -> f64 {
    let ratio = central.per_second() / echo.per_second();
    println!(
        "{:>9} | {:>12.0} {:>9} {:>9} | {:>12.0} {:>9} {:>9} | {:>6.2} | {:>14}",
        level,
        central.per_second(),
        central.latencies.quantile_us(0.50),
        central.latencies.quantile_us(0.99),
        echo.per_second(),
        echo.latencies.quantile_us(0.50),
        echo.latencies.quantile_us(0.99),
        ratio,
        machine::load_average(),
    );
    for (name, r) in [("central", central), ("echo", echo)] {
        if r.errors > 0 {
            println!(
                "          {name}: {} refused calls, first: {}",
                r.errors,
                r.first_error.as_deref().unwrap_or("")
            );
        }
    }
    ratio
}

/// For a durable central: what its writer did in central's share of the
/// measurement (the echo writes nothing), so that a flat rate can be told
/// apart from a saturated writer: commits, changes and calls per commit,
/// the share of central's time the writer spent appending, folding and
/// emptying an over-limit WAL, and the checkpoints its checkpointer ran
/// beside it.
fn print_writer(written: &WriteTotals, central: &LoadResult) {
    if written.commits == 0 {
        return;
    }
    let commits = written.commits as f64;
    println!(
        "          writer: {} commits, {:.1} changes and {:.1} calls each; append {:.0} us mean; {} folds in {} steps, {:.1} ms a fold, {:.2} ms a step; busy {:.0}% of central's {:.2} s; beside it {} checkpoints, {:.1} ms mean, and {} WALs emptied past the hard limit by the writer, {:.1} ms mean",
        written.commits,
        written.changes as f64 / commits,
        central.ok as f64 / commits,
        written.append_ns as f64 / commits / 1e3,
        written.folds,
        written.fold_steps,
        written.fold_ns as f64 / written.folds.max(1) as f64 / 1e6,
        written.fold_ns as f64 / written.fold_steps.max(1) as f64 / 1e6,
        100.0 * (written.append_ns + written.fold_ns + written.truncate_ns) as f64
            / (central.elapsed.as_secs_f64() * 1e9),
        central.elapsed.as_secs_f64(),
        written.checkpoints,
        written.checkpoint_ns as f64 / written.checkpoints.max(1) as f64 / 1e6,
        written.truncations,
        written.truncate_ns as f64 / written.truncations.max(1) as f64 / 1e6,
    );
}

/// How central's lock was used in central's share of the measurement (the
/// echo takes none; the rig's stubs keep no machine): passes, the mean
/// wait and hold, and the share of central's time the lock was held. A
/// lock held nearly all the time serialises the handlers.
fn print_lock(held: &LockTotals, central: &LoadResult) {
    if held.passes == 0 {
        return;
    }
    let passes = held.passes as f64;
    println!(
        "          lock: {} passes, held {:.1} us and waited {:.1} us mean; held {:.0}% of central's {:.2} s",
        held.passes,
        held.held_ns as f64 / passes / 1e3,
        held.wait_ns as f64 / passes / 1e3,
        100.0 * held.held_ns as f64 / (central.elapsed.as_secs_f64() * 1e9),
        central.elapsed.as_secs_f64(),
    );
}
