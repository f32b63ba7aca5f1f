//! `pairctl` built inside the tests package, so that cargo builds it for the
//! integration tests (`CARGO_BIN_EXE_pairctl-under-test`); a binary of
//! another package would not be built by `cargo test`.

fn main() -> std::process::ExitCode {
    pairctl::main_entry()
}
