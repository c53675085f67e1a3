//! The delegation document: who grants what to whom, for how long, and how much per day.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The `kind` every delegation document carries, so that no other JSON signed by a director is
/// ever mistaken for a delegation.
pub const KIND: &str = "signq.delegation.v1";

/// A director's grant of signing authority to a deputy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegationDoc {
    /// Always [`KIND`].
    pub kind: String,
    /// A unique id, chosen by the director's tooling.
    pub id: String,
    /// The ward in which the delegation holds.
    pub ward: String,
    /// The granting director's signer id.
    pub director_id: String,
    /// The receiving deputy's signer id.
    pub deputy_id: String,
    /// The procedure codes the deputy may sign.
    pub procedure_codes: Vec<String>,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Records per day (ward time) the deputy may sign under it; 0 means no cap.
    pub daily_cap: u32,
    /// How the deputy signs under it, as the signature block of a signed PDF states it. Absent
    /// from the JSON when it is the default, "KT.", so documents made before it existed read
    /// the same.
    #[serde(default, skip_serializing_if = "Notation::is_default")]
    pub notation: Notation,
}

/// The notation a delegate signs with (Decree 30/2020, Art. 13).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Notation {
    /// "KT." (ký thay): a deputy signs for the head in the field assigned.
    #[default]
    #[serde(rename = "KT")]
    ForHead,
    /// "TUQ." (thừa ủy quyền): authorised in writing, limited in time and scope, never passed on.
    #[serde(rename = "TUQ")]
    Authorised,
}

impl Notation {
    fn is_default(&self) -> bool {
        *self == Notation::default()
    }

    /// The signature block's capacity for a delegate signing with it.
    pub fn capacity(self) -> signq_pades::Capacity {
        match self {
            Notation::ForHead => signq_pades::Capacity::ForHead,
            Notation::Authorised => signq_pades::Capacity::Authorised,
        }
    }
}

/// A field of a delegation document that is not acceptable, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("delegation.{field}: {reason}")]
pub struct InvalidField {
    /// The field's name.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> InvalidField {
    InvalidField {
        field,
        reason: reason.into(),
    }
}

/// Whether a procedure code has the catalogue's form: 2 to 16 of `A-Z 0-9 -`.
pub fn is_procedure_code(code: &str) -> bool {
    (2..=16).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

impl DelegationDoc {
    /// Checks every field; the first defect is returned.
    pub fn validate(&self) -> Result<(), InvalidField> {
        if self.kind != KIND {
            return Err(invalid(
                "kind",
                format!("is {:?}, expected {KIND:?}", self.kind),
            ));
        }
        for (field, value) in [
            ("id", &self.id),
            ("ward", &self.ward),
            ("director_id", &self.director_id),
            ("deputy_id", &self.deputy_id),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(field, "is empty"));
            }
        }
        if self.deputy_id == self.director_id {
            return Err(invalid(
                "deputy_id",
                "a director cannot delegate to themself",
            ));
        }
        if self.procedure_codes.is_empty() {
            return Err(invalid("procedure_codes", "names no procedure"));
        }
        if let Some(bad) = self.procedure_codes.iter().find(|c| !is_procedure_code(c)) {
            return Err(invalid(
                "procedure_codes",
                format!(
                    "{} is not a procedure code (2-16 of A-Z, 0-9, -)",
                    signq_kit::echo::shown(bad)
                ),
            ));
        }
        if self.not_after <= self.not_before {
            return Err(invalid("not_after", "is not after not_before"));
        }
        Ok(())
    }

    /// Whether the delegation covers `procedure_code`.
    pub fn covers(&self, procedure_code: &str) -> bool {
        self.procedure_codes.iter().any(|c| c == procedure_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> DelegationDoc {
        DelegationDoc {
            kind: KIND.into(),
            id: "cat-lai/d-1".into(),
            ward: "cat-lai".into(),
            director_id: "cat-lai/director".into(),
            deputy_id: "cat-lai/deputy-1".into(),
            procedure_codes: vec!["CT-BS".into(), "HT-KS".into()],
            not_before: time::macros::datetime!(2026-11-01 0:00 UTC),
            not_after: time::macros::datetime!(2026-12-01 0:00 UTC),
            daily_cap: 60,
            notation: Notation::ForHead,
        }
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(sample().validate(), Ok(()));
        let mut d = sample();
        d.procedure_codes.clear();
        assert_eq!(d.validate().map_err(|e| e.field), Err("procedure_codes"));
        let mut d = sample();
        d.procedure_codes = vec!["ct bs".into()];
        assert_eq!(d.validate().map_err(|e| e.field), Err("procedure_codes"));
        let mut d = sample();
        d.not_after = d.not_before;
        assert_eq!(d.validate().map_err(|e| e.field), Err("not_after"));
        let mut d = sample();
        d.deputy_id = d.director_id.clone();
        assert_eq!(d.validate().map_err(|e| e.field), Err("deputy_id"));
        let mut d = sample();
        d.kind = "other".into();
        assert_eq!(d.validate().map_err(|e| e.field), Err("kind"));
    }

    #[test]
    fn json_rejects_unknown_fields() {
        let json = serde_json::to_string(&sample()).unwrap_or_default();
        assert!(serde_json::from_str::<DelegationDoc>(&json).is_ok());
        let extra = json.replacen('{', "{\"extra\":1,", 1);
        assert!(serde_json::from_str::<DelegationDoc>(&extra).is_err());
    }
}
