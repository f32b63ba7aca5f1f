//! `pairctl status`: the cluster's clock, nodes and cases.

use std::process::ExitCode;

use crate::central_client::CentralClient;
use crate::cli::CentralArgs;
use crate::render;

pub async fn run(args: CentralArgs) -> anyhow::Result<ExitCode> {
    let central = CentralClient::from_args(&args)?;
    let status = central.status().await?;
    print!("{}", render::status(&status));
    Ok(ExitCode::SUCCESS)
}
