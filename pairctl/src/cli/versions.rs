//! The flags of mixed-version runs and rolling upgrades: `up --binaries`
//! and `upgrade`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::NodeRole;

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// The log directory of the running `pairctl up`.
    #[arg(long, default_value = "target/pairctl-logs")]
    pub log_dir: PathBuf,
    /// The directory of the new pairctl binary.
    #[arg(long, value_name = "DIR")]
    pub binaries: PathBuf,
    /// Draws the order of the nodes [default: the time, printed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// How long to wait for every node to be replaced.
    #[arg(long, default_value_t = 300)]
    pub timeout_s: u64,
}

/// The pairctl that runs every node of a role (`--binaries ROLE=DIR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleBinary {
    pub role: NodeRole,
    pub exe: PathBuf,
}

pub fn parse_role_binary(text: &str) -> Result<RoleBinary, String> {
    let (role, dir) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not ROLE=DIR"))?;
    let role = NodeRole::from_str(role, true)
        .map_err(|_| format!("{role:?} is not central, province or city"))?;
    let exe = PathBuf::from(dir).join("pairctl");
    if !exe.is_file() {
        return Err(format!(
            "{} is not a file: DIR must hold a pairctl binary",
            exe.display()
        ));
    }
    Ok(RoleBinary { role, exe })
}
