//! The `pairctl` binary: the operator's command line (see the library).

fn main() -> std::process::ExitCode {
    pairctl::main_entry()
}
