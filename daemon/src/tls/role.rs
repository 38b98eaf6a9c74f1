//! Who is calling: the role a certificate names. Every BAPay certificate
//! carries one SAN URI `bapay:role:<role>`; a server reads it from the
//! client certificate the TLS handshake verified against its CA, and the
//! per-RPC policy ([`super::Policy`]) decides on it. One role per
//! certificate, so a key is never more than one party.

use serde::{Deserialize, Serialize};

/// The URI prefix of the role SAN.
pub const ROLE_URI_PREFIX: &str = "bapay:role:";

/// A party of a BAPay deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The outsourcer's operator (its tools, the `bapay` CLI).
    User,
    /// A deployment operator: regtest / anvil helpers, reflection.
    Admin,
    /// The outsourcer daemon O.
    Outsourcer,
    /// A calculator daemon C_i.
    Calculator,
    /// The arbiter daemon T.
    Arbiter,
    /// The chain-adapter.
    ChainAdapter,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Role::User,
        Role::Admin,
        Role::Outsourcer,
        Role::Calculator,
        Role::Arbiter,
        Role::ChainAdapter,
    ];

    /// The name in certificates, file names and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
            Role::Outsourcer => "outsourcer",
            Role::Calculator => "calculator",
            Role::Arbiter => "arbiter",
            Role::ChainAdapter => "chain-adapter",
        }
    }

    /// The role of a name (`as_str`).
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The SAN URI naming this role.
    pub fn uri(self) -> String {
        format!("{ROLE_URI_PREFIX}{}", self.as_str())
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role named by a DER certificate (its first `bapay:role:` SAN URI);
/// `None` if it names none or cannot be parsed. Only call this on a
/// certificate the TLS layer has verified.
pub fn role_of_der(der: &[u8]) -> Option<Role> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let san = cert.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|n| match n {
        x509_parser::extensions::GeneralName::URI(u) => {
            u.strip_prefix(ROLE_URI_PREFIX).and_then(Role::parse)
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(r.uri(), format!("bapay:role:{r}"));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
