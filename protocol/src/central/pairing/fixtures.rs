//! Test fixtures shared by the pure engines' tests.

use counterpart_domain::scenario::{PairingMode, Rules};

/// Rules like the 2020 scenario's: a donor above outbreak level 1 is not
/// paired, and targets may reach 1.5 x the assessed need.
pub(crate) fn rules() -> Rules {
    Rules {
        pairing_mode: PairingMode::Optimized,
        decision_window_days: 3.0,
        report_interval_days: 1.0,
        evaluation_interval_days: 7.0,
        quiet_days_to_demobilise: 14,
        max_outbreak_level: 1,
        intensity_cap: 1.5,
        supervision: true,
        recovery_days: 21.0,
        severe_fraction: 0.15,
        critical_fraction: 0.05,
        request_threshold: 0.9,
        transit_days: 0.5,
        transit_loss_rate: 0.01,
        mobilisation_days: 1.0,
        shipment_interval_days: 2.0,
    }
}
