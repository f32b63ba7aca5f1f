//! Random and malformed protocol messages for property tests (feature
//! `arbitrary`): every request type of the three services, with fields
//! drawn from plausible values, known ids of the `small` scenario, and the
//! malformed values a bad peer could send (missing header, empty, huge or
//! non-ASCII ids, negative and huge quantities, unknown or wrongly cased
//! resource types, lists over their bound).

use pairing_proto::v1::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Node ids: those of the `small` scenario, central, and bad ones.
pub fn node_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["central", "alpha", "beta", "north", "south", "west"])
            .prop_map(String::from),
        1 => Just(String::new()),
        1 => Just("North".to_string()),
        1 => Just("x".repeat(600)),
        1 => "\\PC{0,12}",
    ]
}

/// Ids of messages, cases, assignments, shipments: real-looking ones of
/// the `small` scenario and bad ones.
pub fn some_id() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "case-north-1", "case-south-1", "case-west-1", "case-north-2",
            "asg-case-north-1-alpha", "asg-case-north-1-beta", "asg-case-south-1-alpha",
            "ASG-case-north-1-alpha", "shp-alpha-case-north-1-1", "m-1",
        ])
        .prop_map(String::from),
        1 => Just(String::new()),
        1 => Just("é".repeat(300)),
        1 => Just("i".repeat(5_000)),
        1 => "[a-z0-9-]{1,24}",
        1 => "\\PC{0,16}",
    ]
}

/// Free text: usually short, sometimes over the 512-byte bound.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,20}",
        1 => Just("y".repeat(513)),
    ]
}

pub fn scenario_time() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => 0i64..(60 * 86_400_000),
        1 => Just(-1i64),
        1 => Just(i64::MAX),
        1 => Just(i64::MIN),
    ]
}

pub fn quantity() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => 0i64..1_000,
        1 => Just(-1i64),
        1 => Just(i64::MAX),
        1 => Just(i64::MIN),
        1 => Just(1_000_000_000_001i64),
    ]
}

pub fn resource_type() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "personnel/doctor", "personnel/nurse", "personnel/public_health",
            "personnel/official", "material/mask_n95", "material/protective_suit",
            "material/goggles", "material/ventilator", "material/ambulance", "funds/cny",
        ])
        .prop_map(String::from),
        1 => Just("Personnel/Doctor".to_string()),
        1 => Just("personnel/".to_string()),
        1 => Just("t".repeat(5_000)),
        1 => "\\PC{0,12}",
    ]
}

/// A list length: usually short, sometimes just over a bound of 64 (and
/// of 16, the tighter bounds).
fn len() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0usize..4, 1 => Just(17usize), 1 => Just(65usize)]
}

pub fn header() -> impl Strategy<Value = Option<MessageHeader>> {
    option::weighted(
        0.9,
        (some_id(), node_id(), scenario_time()).prop_map(|(message_id, sender_id, t)| {
            MessageHeader {
                message_id,
                sender_id,
                scenario_time_ms: t,
            }
        }),
    )
}

pub fn resource_quantity() -> impl Strategy<Value = ResourceQuantity> {
    (resource_type(), quantity()).prop_map(|(resource_type, quantity)| ResourceQuantity {
        resource_type: resource_type.into(),
        quantity,
    })
}

pub fn lines() -> impl Strategy<Value = Vec<ResourceQuantity>> {
    len().prop_flat_map(|n| vec(resource_quantity(), n))
}

fn count() -> impl Strategy<Value = i64> {
    prop_oneof![4 => 0i64..5_000, 1 => Just(-5i64), 1 => Just(i64::MAX)]
}

/// A situation: mostly plausible (so the checks after it are reached),
/// sometimes with negative or huge counts, or missing.
pub fn situation() -> impl Strategy<Value = Option<Situation>> {
    let plausible = (0i64..5_000, 0i64..5_000, 0i64..500, 0i64..100, 0i64..2_000).prop_map(
        |(confirmed, active, severe, critical, beds)| Situation {
            confirmed_total: confirmed.max(active),
            active_cases: active,
            severe,
            critical,
            beds,
            local_doctors: 100,
            local_nurses: 200,
            new_cases_today: 10,
            days_without_new_cases: 0,
        },
    );
    let malformed = (
        (count(), count(), count(), count(), count()),
        (count(), count(), count(), count()),
    )
        .prop_map(|((a, b, c, d, e), (f, g, h, i))| Situation {
            confirmed_total: a,
            active_cases: b,
            severe: c,
            critical: d,
            beds: e,
            local_doctors: f,
            local_nurses: g,
            new_cases_today: h,
            days_without_new_cases: i,
        });
    option::weighted(0.9, prop_oneof![3 => plausible, 1 => malformed])
}

fn enum_value() -> impl Strategy<Value = i32> {
    prop_oneof![4 => 0i32..5, 1 => Just(-1i32), 1 => Just(i32::MAX)]
}

fn endpoint() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("http://127.0.0.1:1".to_string()),
        1 => Just("ftp://x".to_string()),
        1 => text(),
    ]
}

fn contribution() -> impl Strategy<Value = Contribution> {
    (text(), quantity()).prop_map(|(prefecture, quantity)| Contribution {
        prefecture,
        quantity,
    })
}

fn objective() -> impl Strategy<Value = Objective> {
    (text(), text(), quantity()).prop_map(|(code, description, target)| Objective {
        code,
        description,
        target,
    })
}

fn discrepancy() -> impl Strategy<Value = Discrepancy> {
    (resource_type(), quantity(), enum_value()).prop_map(|(resource_type, quantity, reason)| {
        Discrepancy {
            resource_type: resource_type.into(),
            quantity,
            reason,
        }
    })
}

fn clock() -> impl Strategy<Value = Option<ScenarioClock>> {
    option::weighted(
        0.85,
        (
            prop_oneof![
                Just(1_700_000_000_000i64),
                Just(0i64),
                Just(i64::MAX),
                any::<i64>()
            ],
            prop_oneof![
                Just(100i64),
                Just(0i64),
                Just(-1i64),
                Just(i64::MAX),
                any::<i64>()
            ],
            prop_oneof![
                Just("2020-02-07".to_string()),
                Just("2020-13-40".to_string()),
                text()
            ],
        )
            .prop_map(|(epoch_unix_ms, day_ms, start_date)| ScenarioClock {
                epoch_unix_ms,
                day_ms,
                start_date,
                ..Default::default()
            }),
    )
}

// ---- CentralAuthority ----

pub fn register_node() -> impl Strategy<Value = RegisterNode> {
    (header(), enum_value(), endpoint()).prop_map(|(header, role, endpoint)| RegisterNode {
        header,
        role,
        endpoint,
        ..Default::default()
    })
}

fn pool() -> impl Strategy<Value = ResourcePool> {
    (
        resource_type(),
        quantity(),
        len().prop_flat_map(|n| vec(contribution(), n)),
    )
        .prop_map(|(resource_type, quantity, contributions)| ResourcePool {
            resource_type,
            quantity,
            contributions,
        })
}

pub fn capacity_report() -> impl Strategy<Value = CapacityReport> {
    (
        header(),
        len().prop_flat_map(|n| vec(pool(), n)),
        enum_value(),
    )
        .prop_map(|(header, pools, outbreak_level)| CapacityReport {
            header,
            pools,
            outbreak_level,
        })
}

pub fn assistance_request() -> impl Strategy<Value = AssistanceRequest> {
    (header(), situation(), lines()).prop_map(|(header, situation, needs)| AssistanceRequest {
        header,
        situation,
        needs,
    })
}

pub fn acknowledgement() -> impl Strategy<Value = AssignmentAcknowledgement> {
    (
        header(),
        some_id(),
        enum_value(),
        len().prop_flat_map(|n| vec(text(), n)),
    )
        .prop_map(
            |(header, assignment_id, kind, constraints)| AssignmentAcknowledgement {
                header,
                assignment_id,
                kind,
                constraints,
            },
        )
}

pub fn supervisory_report() -> impl Strategy<Value = SupervisoryReport> {
    let shipment =
        (some_id(), scenario_time(), lines()).prop_map(|(shipment_id, t, lines)| ShipmentRecord {
            shipment_id,
            departed_at_ms: t,
            lines,
        });
    let receipt = (
        some_id(),
        scenario_time(),
        lines(),
        len().prop_flat_map(|n| vec(discrepancy(), n)),
    )
        .prop_map(|(shipment_id, t, received, discrepancies)| ReceiptRecord {
            shipment_id,
            received_at_ms: t,
            received,
            discrepancies,
        });
    let counters = prop::collection::btree_map(text(), any::<u64>(), 0..4);
    // Days and items near the edges: out of order, repeated, unknown.
    let count = (enum_value(), quantity()).prop_map(|(item, value)| DailyCount { item, value });
    let day = prop_oneof![4 => -3i32..3, 1 => Just(i32::MIN), 1 => Just(i32::MAX)];
    let tally = (day, vec(count, 0..4)).prop_map(|(day, counts)| DailyTally { day, counts });
    (
        (header(), some_id(), vec(shipment, 0..3), vec(receipt, 0..3)),
        (
            situation(),
            quantity(),
            enum_value(),
            quantity(),
            any::<bool>(),
            counters,
        ),
        vec(tally, 0..3),
    )
        .prop_map(
            |(
                (header, case_id, shipments, receipts),
                (situation, cost, level, staff, fin, m),
                daily_tallies,
            )| {
                SupervisoryReport {
                    header,
                    case_id,
                    shipments,
                    receipts,
                    situation,
                    cost_cny: cost,
                    outbreak_level: level,
                    personnel_deployed: staff,
                    r#final: fin,
                    messages_received: m.into_iter().collect(),
                    daily_tallies,
                }
            },
        )
}

pub fn demobilisation_request() -> impl Strategy<Value = DemobilisationRequest> {
    (header(), some_id(), situation()).prop_map(|(header, case_id, situation)| {
        DemobilisationRequest {
            header,
            case_id,
            situation,
        }
    })
}

// ---- DonorProvince ----

pub fn clock_start() -> impl Strategy<Value = ClockStart> {
    (header(), clock()).prop_map(|(header, clock)| ClockStart { header, clock })
}

pub fn assignment() -> impl Strategy<Value = Assignment> {
    (
        (header(), some_id(), some_id(), node_id()),
        (
            endpoint(),
            len().prop_flat_map(|n| vec(objective(), n)),
            lines(),
            text(),
        ),
    )
        .prop_map(
            |((header, assignment_id, case_id, city), (endpoint, objectives, targets, reason))| {
                Assignment {
                    header,
                    assignment_id,
                    case_id,
                    recipient_city_id: city,
                    recipient_endpoint: endpoint,
                    objectives,
                    targets,
                    reason,
                }
            },
        )
}

pub fn evaluation() -> impl Strategy<Value = Evaluation> {
    (
        (header(), some_id(), some_id(), some_id()),
        (
            enum_value(),
            text(),
            prop_oneof![0.0..=1.0, Just(f64::NAN), Just(-1.0), Just(2.0)],
        ),
    )
        .prop_map(
            |((header, evaluation_id, case_id, assignment_id), (kind, reason, f))| Evaluation {
                header,
                evaluation_id,
                case_id,
                assignment_id,
                kind,
                reason,
                delivered_fraction: f,
            },
        )
}

pub fn adjustment() -> impl Strategy<Value = Adjustment> {
    (
        (header(), some_id(), some_id(), some_id()),
        (enum_value(), lines(), text()),
    )
        .prop_map(
            |((header, adjustment_id, case_id, assignment_id), (kind, new_targets, reason))| {
                Adjustment {
                    header,
                    adjustment_id,
                    case_id,
                    assignment_id,
                    kind,
                    new_targets,
                    reason,
                }
            },
        )
}

pub fn demobilisation_order() -> impl Strategy<Value = DemobilisationOrder> {
    (header(), some_id(), some_id(), some_id()).prop_map(
        |(header, order_id, case_id, assignment_id)| DemobilisationOrder {
            header,
            order_id,
            case_id,
            assignment_id,
        },
    )
}

pub fn receipt() -> impl Strategy<Value = Receipt> {
    (
        (header(), some_id(), some_id(), some_id()),
        (
            scenario_time(),
            lines(),
            len().prop_flat_map(|n| vec(discrepancy(), n)),
        ),
    )
        .prop_map(
            |((header, receipt_id, shipment_id, case_id), (t, received, discrepancies))| Receipt {
                header,
                receipt_id,
                shipment_id,
                case_id,
                received_at_ms: t,
                received,
                discrepancies,
            },
        )
}

pub fn needs_update() -> impl Strategy<Value = NeedsUpdate> {
    (header(), some_id(), situation(), lines()).prop_map(|(header, case_id, situation, needs)| {
        NeedsUpdate {
            header,
            case_id,
            situation,
            needs,
        }
    })
}

// ---- RecipientCity ----

fn donor() -> impl Strategy<Value = Donor> {
    (node_id(), endpoint(), text(), any::<f64>()).prop_map(
        |(province_id, endpoint, reason, score)| Donor {
            province_id,
            endpoint,
            reason,
            score,
        },
    )
}

pub fn case_decision() -> impl Strategy<Value = CaseDecision> {
    let assessment = option::weighted(
        0.85,
        (
            any::<bool>(),
            enum_value(),
            text(),
            len().prop_flat_map(|n| vec(objective(), n)),
            lines(),
        )
            .prop_map(
                |(accepted, severity, reason, objectives, targets)| Assessment {
                    accepted,
                    severity,
                    reason,
                    objectives,
                    targets,
                },
            ),
    );
    (
        header(),
        some_id(),
        prop_oneof![0u32..4, Just(u32::MAX)],
        assessment,
        len().prop_flat_map(|n| vec(donor(), n)),
    )
        .prop_map(
            |(header, case_id, revision, assessment, donors)| CaseDecision {
                header,
                case_id,
                revision,
                assessment,
                donors,
            },
        )
}

pub fn case_closure() -> impl Strategy<Value = CaseClosure> {
    (header(), some_id(), scenario_time()).prop_map(|(header, case_id, t)| CaseClosure {
        header,
        case_id,
        closed_at_ms: t,
    })
}

fn manifest_line() -> impl Strategy<Value = ManifestLine> {
    (
        resource_type(),
        quantity(),
        len().prop_flat_map(|n| vec(contribution(), n)),
    )
        .prop_map(|(resource_type, quantity, contributed_by)| ManifestLine {
            resource_type,
            quantity,
            contributed_by,
        })
}

pub fn shipment() -> impl Strategy<Value = Shipment> {
    (
        (header(), some_id(), some_id(), some_id()),
        (
            scenario_time(),
            len().prop_flat_map(|n| vec(manifest_line(), n)),
        ),
    )
        .prop_map(
            |((header, shipment_id, case_id, assignment_id), (t, lines))| Shipment {
                header,
                shipment_id,
                case_id,
                assignment_id,
                departed_at_ms: t,
                lines,
            },
        )
}

/// Whether a refusal's message opens with a field path, e.g.
/// `needs[3].quantity: ...` or `header.sender_id: ...`.
pub fn names_a_field(message: &str) -> bool {
    let Some((field, rest)) = message.split_once(':') else {
        return false;
    };
    !field.is_empty()
        && !rest.trim().is_empty()
        && field.starts_with(|c: char| c.is_ascii_lowercase())
        && field
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.[]".contains(c))
}

/// Longest refusal message expected: a status message travels in an
/// HTTP/2 header, so a refusal names the field and what is wrong without
/// echoing a long value.
pub const MAX_REFUSAL_LEN: usize = 2_048;

/// What every refusal of bad input must be: an expected code, a message
/// that names a field, of bounded length. Returns what is wrong.
pub fn check_refusal(status: &tonic::Status) -> Result<(), String> {
    let shown = || {
        let shown: String = status.message().chars().take(200).collect();
        format!("{:?}: {shown}", status.code())
    };
    if !refusal_code_is_expected(status.code()) {
        return Err(format!("unexpected code: {}", shown()));
    }
    if status.message().len() > MAX_REFUSAL_LEN {
        return Err(format!(
            "a refusal of {} bytes: {}",
            status.message().len(),
            shown()
        ));
    }
    if !names_a_field(status.message()) {
        return Err(format!("no field named: {}", shown()));
    }
    Ok(())
}

/// The codes a refusal of bad input may carry.
pub fn refusal_code_is_expected(code: tonic::Code) -> bool {
    use tonic::Code::*;
    matches!(
        code,
        InvalidArgument
            | NotFound
            | FailedPrecondition
            | PermissionDenied
            | AlreadyExists
            | ResourceExhausted
    )
}
