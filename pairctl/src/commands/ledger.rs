//! `pairctl ledger`: per pair and resource type, what was targeted, shipped
//! and received; each donor's cost.

use std::process::ExitCode;

use crate::central_client::CentralClient;
use crate::cli::{central_url, CentralArgs};
use crate::render;

pub async fn run(args: CentralArgs) -> anyhow::Result<ExitCode> {
    let central = CentralClient::new(&central_url(&args.central))?;
    let ledger = central.ledger().await?;
    print!("{}", render::ledger(&ledger));
    Ok(ExitCode::SUCCESS)
}
