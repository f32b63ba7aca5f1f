//! The machine a figure was measured on. Every benchmark prints this at its
//! start and the load again at its end: on a shared machine a figure means
//! little without the load it was measured under.

use std::fmt;

/// What every benchmark reports about the machine.
#[derive(Debug, Clone)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub rustc: &'static str,
}

impl Machine {
    pub fn probe() -> Machine {
        let nproc = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            nproc,
            cpu_model,
            rustc: env!("BENCH_RUSTC_VERSION"),
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "machine: nproc {}, CPU {}, {}",
            self.nproc, self.cpu_model, self.rustc
        )
    }
}

/// The 1, 5 and 15 minute load averages, as /proc/loadavg gives them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Prints the machine and the load at the start of a benchmark.
pub fn print_start(name: &str) {
    println!("# {name}");
    println!("{}", Machine::probe());
    println!("load average at start: {}", load_average());
}

/// Prints the load at the end of a benchmark.
pub fn print_end() {
    println!("load average at end: {}", load_average());
}
