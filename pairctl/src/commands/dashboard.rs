//! `pairctl dashboard`: the live dashboard of a cluster started another way
//! (compose, Kubernetes, by hand), fed by its central until Ctrl-C.

use std::process::ExitCode;

use crate::central_client::CentralClient;
use crate::cli::DashboardArgs;
use crate::dashboard::RunningDashboard;

pub async fn run(args: DashboardArgs) -> anyhow::Result<ExitCode> {
    let central = CentralClient::from_args(&args.central)?;
    let signals = node_kit::shutdown::on_signals();
    let dashboard =
        RunningDashboard::start(&args.listen, central.endpoint(), &args.jaeger_url).await?;
    println!(
        "Dashboard at {} (central at {}); Ctrl-C to stop",
        dashboard.url,
        central.endpoint()
    );
    dashboard.follow(central);
    signals.cancelled().await;
    dashboard.stop().await;
    Ok(ExitCode::SUCCESS)
}
