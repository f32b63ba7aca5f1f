//! `pairctl ledger`: per pair and resource type, what was targeted, shipped
//! and received; each donor's cost.

use std::process::ExitCode;

use crate::central_client::CentralClient;
use crate::cli::CentralArgs;
use crate::render;

pub async fn run(args: CentralArgs) -> anyhow::Result<ExitCode> {
    let central = CentralClient::from_args(&args)?;
    let ledger = central.ledger().await?;
    print!("{}", render::ledger(&ledger));
    Ok(ExitCode::SUCCESS)
}
