//! `pairctl catalog`: the message catalog as a table, printed from
//! `counterpart_protocol::catalog` itself, so the documentation of who
//! sends what can never fall behind the code that checks it.

use std::process::ExitCode;

use counterpart_protocol::catalog::{Access, MessageKind, CATALOG, QUERIES};

use crate::table::{Align, Table};

pub fn run() -> anyhow::Result<ExitCode> {
    print!("{}", render());
    Ok(ExitCode::SUCCESS)
}

/// Every message kind, then every operator query.
pub fn render() -> String {
    let mut kinds = Table::new(&[
        ("service", Align::Left),
        ("rpc", Align::Left),
        ("message", Align::Left),
        ("sent by (span)", Align::Left),
        ("access", Align::Left),
        ("stage", Align::Left),
        ("receiver's span", Align::Left),
    ]);
    for kind in CATALOG {
        kinds.row([
            kind.service
                .proto_name()
                .trim_start_matches("pairing.v1.")
                .to_string(),
            kind.rpc.to_string(),
            kind.message.to_string(),
            senders(kind),
            access(kind).to_string(),
            stage(kind),
            kind.server_span.to_string(),
        ]);
    }
    let mut queries = Table::new(&[
        ("service", Align::Left),
        ("rpc", Align::Left),
        ("message", Align::Left),
    ]);
    for query in QUERIES {
        queries.row([
            query.service.proto_name().trim_start_matches("pairing.v1."),
            query.rpc,
            query.message,
        ]);
    }
    format!(
        "Message kinds (each applied once per sender and message id):\n{}\n\
         Operator queries (the operator or central; they change nothing):\n{}",
        kinds.render(),
        queries.render()
    )
}

fn senders(kind: &MessageKind) -> String {
    let senders: Vec<String> = kind
        .senders
        .iter()
        .map(|s| format!("{} ({})", s.role, s.span))
        .collect();
    senders.join(", ")
}

fn access(kind: &MessageKind) -> &'static str {
    match kind.access {
        Access::FromCentral => "central only",
        Access::AsItself => "as itself",
    }
}

fn stage(kind: &MessageKind) -> String {
    match kind.final_stage {
        Some(last) => format!("{} ({last} when final)", kind.stage),
        None => kind.stage.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_query_is_printed_with_its_rule() {
        let text = render();
        for kind in CATALOG {
            assert!(text.contains(kind.rpc) && text.contains(kind.server_span));
        }
        assert!(text.contains("city (city.request)"), "{text}");
        assert!(text.contains("implementation (demobilisation when final)"));
        assert!(text.contains("WatchOperation"));
        let from_central = CATALOG.iter().filter(|k| k.access == Access::FromCentral);
        assert_eq!(
            text.matches("central only").count(),
            from_central.count(),
            "{text}"
        );
    }
}
