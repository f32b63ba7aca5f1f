//! `pairctl ledger`: per pair and resource type, what was targeted, shipped
//! and received; each donor's cost. With `--reconcile`, central's ledger
//! beside every node's own books.

use std::process::ExitCode;

use node_kit::client::Dialer;
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::recipient_city_client::RecipientCityClient;
use pairing_proto::v1::{Books, BooksQuery, Role};

use crate::central_client::CentralClient;
use crate::cli::LedgerArgs;
use crate::{reconcile, render};

pub async fn run(args: LedgerArgs) -> anyhow::Result<ExitCode> {
    let central = CentralClient::from_args(&args.central)?;
    // The nodes' books, asked as the operator too (when over TLS).
    let dialer = Dialer::new(args.central.tls.load()?.as_ref());
    let ledger = central.ledger().await?;
    if !args.reconcile {
        print!("{}", render::ledger(&ledger));
        return Ok(ExitCode::SUCCESS);
    }
    let status = central.status().await?;
    let (mut provinces, mut cities, mut unreachable) = (Vec::new(), Vec::new(), 0);
    for node in &status.nodes {
        let books = match node.role() {
            Role::Province => &mut provinces,
            Role::City => &mut cities,
            _ => continue,
        };
        match books_of(&dialer, node.role(), &node.endpoint).await {
            Ok(b) => books.push(b),
            Err(e) => {
                eprintln!(
                    "pairctl: no books from {} at {}: {e}",
                    node.node_id, node.endpoint
                );
                unreachable += 1;
            }
        }
    }
    let rows = reconcile::rows(&ledger, &provinces, &cities);
    print!("{}", reconcile::render(&rows));
    let differing = rows.iter().any(reconcile::Row::differs);
    Ok(if differing || unreachable > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
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
