//! `pairctl ledger --reconcile` as an operator runs it, judged by its exit
//! status, after a run of the small scenario: the whole books pass (0);
//! a city's books with one receipt deleted fail (1) naming the pair and
//! type; a city whose books cannot be read fails (1) naming it.
//!
//! The city's books are edited by standing in for it: once the run is
//! over the city stops, and a stand-in on its address answers `GetBooks`
//! with what the city's books held, less the receipt. Everything else the
//! command reads is the real run's.

use std::net::SocketAddr;
use std::process::Output;
use std::time::Duration;

use counterpart_tests::cluster::Cluster;
use counterpart_tests::scenario_path;
use node_kit::client::Dialer;
use pairctl::commands::ledger::books_of;
use pairing_proto::v1::recipient_city_server::{RecipientCity, RecipientCityServer};
use pairing_proto::v1::{
    Ack, BookLine, Books, BooksQuery, CaseClosure, CaseDecision, ClockStart, Mediation, Role,
    Shipment, StepDone, StepGrant,
};
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

/// A city that answers only for its books, with what the test planted.
struct StandIn {
    books: Books,
}

fn not_here<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented(
        "a stand-in answers only for its books",
    ))
}

#[tonic::async_trait]
impl RecipientCity for StandIn {
    async fn advance(&self, _: Request<StepGrant>) -> Result<Response<StepDone>, Status> {
        not_here()
    }
    async fn start_clock(&self, _: Request<ClockStart>) -> Result<Response<Ack>, Status> {
        not_here()
    }
    async fn notify_decision(&self, _: Request<CaseDecision>) -> Result<Response<Ack>, Status> {
        not_here()
    }
    async fn close_case(&self, _: Request<CaseClosure>) -> Result<Response<Ack>, Status> {
        not_here()
    }
    async fn deliver_shipment(&self, _: Request<Shipment>) -> Result<Response<Ack>, Status> {
        not_here()
    }
    async fn mediate(&self, _: Request<Mediation>) -> Result<Response<Ack>, Status> {
        not_here()
    }
    async fn get_books(&self, _: Request<BooksQuery>) -> Result<Response<Books>, Status> {
        Ok(Response::new(self.books.clone()))
    }
}

/// Serves `books` as the city at `addr` until told to stop.
async fn stand_in(addr: SocketAddr, books: Books) -> oneshot::Sender<()> {
    let (listener, _) = node_kit::server::bind(&addr.to_string())
        .await
        .expect("the city's port is free once it stopped");
    let (stop, stopped) = oneshot::channel::<()>();
    let (router, _health) = node_kit::server::router();
    let serve = router
        .add_service(RecipientCityServer::new(StandIn { books }))
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            async {
                let _ = stopped.await;
            },
        );
    tokio::spawn(serve);
    stop
}

/// Deletes one receipt's worth from the first line that received goods:
/// one shipment fewer, and that shipment's share of the units.
fn delete_one_receipt(books: &mut Books) -> BookLine {
    let line = books
        .lines
        .iter_mut()
        .find(|l| l.shipments > 0 && l.received > 0)
        .expect("the city received something");
    let one = (line.received / i64::from(line.shipments)).max(1);
    line.received -= one;
    line.shipments -= 1;
    line.clone()
}

async fn reconcile(central: &str) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_pairctl-under-test"))
        .args(["ledger", "--reconcile", "--central", central])
        .output()
        .await
        .expect("pairctl runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_deleted_from_a_citys_books_fails_reconcile_naming_pair_and_type() {
    let mut cluster = Cluster::start(&scenario_path("small"), 150, None).await;
    cluster.wait_finished(Duration::from_secs(120)).await;
    let central = cluster.central.endpoint();

    let whole = reconcile(&central).await;
    assert_eq!(whole.status.code(), Some(0), "{}", text(&whole));
    assert!(
        text(&whole).contains("; 0 where the nodes' books and central's ledger differ"),
        "{}",
        text(&whole)
    );

    let i = cluster
        .scenario
        .cities
        .iter()
        .position(|c| c.id == "north")
        .unwrap();
    let north = cluster.cities.remove(i);
    let addr = north.addr;
    let mut books = books_of(&Dialer::new(None), Role::City, &north.endpoint())
        .await
        .expect("north's books");
    north.stop().await.expect("north stops");
    let edited = delete_one_receipt(&mut books);
    let stop = stand_in(addr, books).await;

    let short = reconcile(&central).await;
    assert_eq!(short.status.code(), Some(1), "{}", text(&short));
    let pair_and_type = format!(
        "! {}: {} -> north {}:",
        edited.case_id, edited.province_id, edited.resource_type
    );
    assert!(
        text(&short).contains(&pair_and_type),
        "no line names {pair_and_type:?}:\n{}",
        text(&short)
    );
    assert!(
        text(&short).contains("shipped, never received"),
        "{}",
        text(&short)
    );

    let _ = stop.send(());
    let unread = reconcile(&central).await;
    assert_eq!(unread.status.code(), Some(1), "{}", text(&unread));
    assert!(
        text(&unread).contains("! no books from north at"),
        "{}",
        text(&unread)
    );
    cluster.stop().await;
}
