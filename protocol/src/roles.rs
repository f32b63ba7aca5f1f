//! Who takes part in the protocol, the services they serve, and the stages
//! a case goes through.

use std::fmt;

/// What a participant is in the protocol; a node's certificate names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The central authority: assesses, pairs, supervises, demobilises.
    Central,
    /// A donor province.
    Province,
    /// A recipient city.
    City,
    /// The operator's tools (pairctl, the dashboard): queries only.
    Operator,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Central, Role::Province, Role::City, Role::Operator];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Central => "central",
            Role::Province => "province",
            Role::City => "city",
            Role::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A gRPC service of the contract, served by the nodes of one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    CentralAuthority,
    DonorProvince,
    RecipientCity,
}

impl Service {
    pub const ALL: [Service; 3] = [
        Service::CentralAuthority,
        Service::DonorProvince,
        Service::RecipientCity,
    ];

    /// The role whose nodes serve it.
    pub fn role(self) -> Role {
        match self {
            Service::CentralAuthority => Role::Central,
            Service::DonorProvince => Role::Province,
            Service::RecipientCity => Role::City,
        }
    }

    /// Its full name in the contract, e.g. `pairing.v1.CentralAuthority`.
    pub fn proto_name(self) -> &'static str {
        match self {
            Service::CentralAuthority => "pairing.v1.CentralAuthority",
            Service::DonorProvince => "pairing.v1.DonorProvince",
            Service::RecipientCity => "pairing.v1.RecipientCity",
        }
    }
}

/// The stage of the protocol a message belongs to (the paper's four:
/// launch, decision, implementation, demobilisation). Spans carry it as
/// `pairing.stage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Launch,
    Decision,
    Implementation,
    Demobilisation,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Launch => "launch",
            Stage::Decision => "decision",
            Stage::Implementation => "implementation",
            Stage::Demobilisation => "demobilisation",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
