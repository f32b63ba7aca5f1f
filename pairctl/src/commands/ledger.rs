//! `pairctl ledger`: per pair and resource type, what was targeted, shipped
//! and received; each donor's cost. With `--reconcile`, central's ledger
//! beside every node's own books.

use std::process::ExitCode;

use node_kit::client::Dialer;
use node_kit::retry::retry;
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::recipient_city_client::RecipientCityClient;
use pairing_proto::v1::{Books, BooksQuery, Role};

use crate::central_client::CentralClient;
use crate::cli::LedgerArgs;
use crate::reconcile::{self, Reconciliation};
use crate::render;

pub async fn run(args: LedgerArgs) -> anyhow::Result<ExitCode> {
    let central = CentralClient::from_args(&args.central)?;
    if !args.reconcile {
        print!("{}", render::ledger(&central.ledger().await?));
        return Ok(ExitCode::SUCCESS);
    }
    // The nodes' books, asked as the operator too (when over TLS).
    let dialer = Dialer::new(args.central.tls.load()?.as_ref());
    let reconciliation = reconcile_cluster(&central, &dialer).await?;
    print!("{}", reconcile::render(&reconciliation));
    Ok(if reconciliation.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Central's ledger beside the books of every province and city central
/// knows of, asked through `dialer` (retried as `central` retries). The
/// quiescent rules apply once central says the run is finished.
pub async fn reconcile_cluster(
    central: &CentralClient,
    dialer: &Dialer,
) -> anyhow::Result<Reconciliation> {
    let status = central.status().await?;
    let ledger = central.ledger().await?;
    let (mut provinces, mut cities, mut unreachable) = (Vec::new(), Vec::new(), Vec::new());
    for node in &status.nodes {
        let books = match node.role() {
            Role::Province => &mut provinces,
            Role::City => &mut cities,
            _ => continue,
        };
        let read = retry(central.policy(), || {
            books_of(dialer, node.role(), &node.endpoint)
        });
        match read.await {
            Ok(b) => books.push(b),
            Err(e) => unreachable.push(format!(
                "{} at {}: {}",
                node.node_id,
                node.endpoint,
                e.message()
            )),
        }
    }
    let mut reconciliation = Reconciliation::new(&ledger, &provinces, &cities, status.finished);
    reconciliation.unreachable = unreachable;
    Ok(reconciliation)
}

/// The books of the province or city at `endpoint`, with the client's
/// deadline (also the fault suites' conservation check).
pub async fn books_of(dialer: &Dialer, role: Role, endpoint: &str) -> Result<Books, tonic::Status> {
    let channel = dialer.channel(endpoint)?;
    let request = node_kit::client::request(BooksQuery {});
    let books = match role {
        Role::Province => DonorProvinceClient::new(channel).get_books(request).await?,
        _ => RecipientCityClient::new(channel).get_books(request).await?,
    };
    Ok(books.into_inner())
}
