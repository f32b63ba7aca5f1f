//! `pairctl pairings`: which provinces assist which city.

use std::process::ExitCode;

use crate::central_client::CentralClient;
use crate::cli::CentralArgs;
use crate::render::{self, CityNames};

pub async fn run(args: CentralArgs) -> anyhow::Result<ExitCode> {
    let central = CentralClient::from_args(&args)?;
    let table = central.pairings().await?;
    // Central's answer carries ids only; without the scenario there are no
    // Chinese names to add.
    print!("{}", render::pairings(&table, &CityNames::new()));
    Ok(ExitCode::SUCCESS)
}
