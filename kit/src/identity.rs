//! Who is on the other end of a TLS link, as the ward CA's certificates say.
//!
//! Roles travel in the certificate as URI subject alternative names `urn:signq:role:<role>`, so any
//! X.509 tool can read them and no private extension is needed. A signer's signing certificate and
//! a signer's device certificate also name the signer as `urn:signq:signer:<signer id>` and the
//! ward as `urn:signq:ward:<ward id>`; an intake system's certificate names each ward it may act
//! for as `urn:signq:ward:<ward id>`.

use std::fmt;
use std::str::FromStr;

/// The prefix of a role URI in a certificate's subject alternative names.
pub const ROLE_URI_PREFIX: &str = "urn:signq:role:";
/// The prefix of a signer URI in a signing certificate's subject alternative names.
pub const SIGNER_URI_PREFIX: &str = "urn:signq:signer:";
/// The prefix of a ward URI in a signing certificate's subject alternative names.
pub const WARD_URI_PREFIX: &str = "urn:signq:ward:";

/// The role a certificate grants its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The scheduler, as a server and as the only client of the signer service.
    Scheduler,
    /// The signer service, as a server.
    SignerService,
    /// A ward's intake system (one-stop desk, provincial procedure system), a client of Intake.
    Intake,
    /// An operator's tools (Admin service, CLI).
    Operator,
    /// A ward Center director: signs everything of the ward, delegates.
    Director,
    /// A deputy with delegated authority.
    Deputy,
    /// A clerk (văn thư), who applies the ward's seal with its organisation certificate once a
    /// director or deputy has signed.
    Clerk,
    /// A tablet (or another device) enrolled for one director or deputy: sign-in needs it.
    Device,
}

impl Role {
    /// Every role, for listings and help texts.
    pub const ALL: [Role; 8] = [
        Role::Scheduler,
        Role::SignerService,
        Role::Intake,
        Role::Operator,
        Role::Director,
        Role::Deputy,
        Role::Clerk,
        Role::Device,
    ];

    /// The role's name as written in certificates and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Scheduler => "scheduler",
            Role::SignerService => "signer-service",
            Role::Intake => "intake",
            Role::Operator => "operator",
            Role::Director => "director",
            Role::Deputy => "deputy",
            Role::Clerk => "clerk",
            Role::Device => "device",
        }
    }

    /// The URI that carries this role in a certificate.
    pub fn uri(self) -> String {
        format!("{ROLE_URI_PREFIX}{}", self.as_str())
    }

    /// Whether this role belongs to someone who signs records: a director or deputy, or a clerk
    /// applying the ward's seal.
    pub fn is_signer(self) -> bool {
        matches!(self, Role::Director | Role::Deputy | Role::Clerk)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A role name that signq does not know.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "unknown role {0:?} (expected one of scheduler, signer-service, intake, operator, director, deputy, clerk, device)"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// What a verified peer certificate says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The subject's common name.
    pub common_name: String,
    /// Every role the certificate grants.
    pub roles: Vec<Role>,
    /// The signer id, for a signing or device certificate.
    pub signer_id: Option<String>,
    /// The ward ids: the signer's one ward, or the wards an intake system may act for.
    pub wards: Vec<String>,
    /// The certificate's serial number, hex.
    pub serial: String,
}

impl PeerIdentity {
    /// Reads the identity from a DER certificate. Unknown role URIs are ignored.
    pub fn from_der(
        der: &[u8],
    ) -> Result<Self, x509_parser::nom::Err<x509_parser::error::X509Error>> {
        use x509_parser::extensions::GeneralName;
        use x509_parser::prelude::FromDer;
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)?;
        let common_name = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default()
            .to_string();
        let mut roles = Vec::new();
        let mut signer_id = None;
        let mut wards = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                if let GeneralName::URI(uri) = name {
                    if let Some(role) = uri.strip_prefix(ROLE_URI_PREFIX) {
                        roles.extend(role.parse::<Role>().ok());
                    } else if let Some(id) = uri.strip_prefix(SIGNER_URI_PREFIX) {
                        signer_id = Some(id.to_string());
                    } else if let Some(id) = uri.strip_prefix(WARD_URI_PREFIX) {
                        wards.push(id.to_string());
                    }
                }
            }
        }
        Ok(PeerIdentity {
            common_name,
            roles,
            signer_id,
            wards,
            serial: cert.raw_serial_as_string().replace(':', ""),
        })
    }

    /// Whether the certificate grants `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The one ward of a signing or device certificate (`None` unless it names exactly one).
    pub fn ward(&self) -> Option<&str> {
        match self.wards.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
            assert!(role.uri().starts_with(ROLE_URI_PREFIX));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
