//! `pairctl status`: the cluster's clock, nodes and cases.

use std::process::ExitCode;

use crate::central_client::CentralClient;
use crate::cli::{central_url, CentralArgs};
use crate::render;

pub async fn run(args: CentralArgs) -> anyhow::Result<ExitCode> {
    let central = CentralClient::new(&central_url(&args.central))?;
    let status = central.status().await?;
    print!("{}", render::status(&status));
    Ok(ExitCode::SUCCESS)
}
