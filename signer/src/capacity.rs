//! Who may sign a PDF in which capacity, read back from the signatures it carries: the block a
//! signature states (its `/Reason`, which the signature covers) must agree with the signer's
//! certificate and the delegation the signature cites (Decree 30/2020, Art. 13), and the ward's
//! seal may follow only a valid signature of a person of that ward with authority to sign
//! (Art. 32.2). The signing service applies these rules before it seals; `signq verify` applies
//! them to every PDF it checks.

use signq_kit::identity::{PeerIdentity, Role};
use signq_pades::Widget;

use crate::cms::{TrustStore, verify_pades};
use crate::delegation::attributes::read_claims;

/// The `/Reason` of a seal's signature.
pub const SEAL_REASON: &str = "Đóng dấu của cơ quan";

/// Checks the capacity `capacity` a signature's block states against its signer's certificate
/// (`signer`) and whether the signature cites a delegation (`delegated`): a director signs as
/// the head; a deputy signs "KT." or "TUQ." for the head, under a delegation; a clerk applies
/// the seal.
pub fn capacity_agrees(
    signer: &PeerIdentity,
    capacity: &str,
    delegated: bool,
) -> Result<(), String> {
    if signer.has_role(Role::Clerk) {
        return if capacity == SEAL_REASON && !delegated {
            Ok(())
        } else {
            Err(format!(
                "the block states {capacity:?}, but a clerk only applies the ward's seal"
            ))
        };
    }
    let for_head = capacity
        .split(" / ")
        .any(|line| line.starts_with("KT. ") || line.starts_with("TUQ. "));
    let deputy = signer.has_role(Role::Deputy);
    match (deputy, for_head, delegated) {
        (true, true, true) | (false, false, false) => Ok(()),
        (true, false, _) => Err(format!(
            "the block states {capacity:?}, but a deputy signs KT. or TUQ. for the head"
        )),
        (true, true, false) => Err("a deputy's signature claims no delegation".into()),
        (false, _, _) => Err(format!(
            "the block states {capacity:?}, but the signer signs under their own authority"
        )),
    }
}

/// A valid signature of a person with authority to sign for the ward.
#[derive(Debug, Clone)]
pub struct PersonSignature {
    /// Its field.
    pub field: String,
    /// Where its block shows.
    pub widget: Option<Widget>,
    /// The signer's id.
    pub signer_id: String,
}

/// The last valid signature in `pdf` of a director or deputy of `ward`, in a capacity that
/// agrees with their certificate; or why there is none.
pub fn authorised_person(
    pdf: &[u8],
    ward: &str,
    trust: &TrustStore,
) -> Result<PersonSignature, String> {
    let found = signq_pades::signatures(pdf).map_err(|e| e.to_string())?;
    let mut why = format!("the PDF carries no signature of a director or deputy of {ward}");
    for f in found.iter().rev() {
        let Ok(sig) = &f.signature else { continue };
        let checked = sig
            .claimed
            .ok_or_else(|| "it states no signing time".to_string())
            .and_then(|claimed| {
                verify_pades(&sig.cms, &sig.signed_parts(pdf), claimed, trust)
                    .map_err(|e| e.to_string())
            })
            .and_then(|verified| {
                let person = PeerIdentity::from_der(&verified.signer_cert)
                    .map_err(|e| format!("its certificate does not read: {e}"))?;
                if !(person.has_role(Role::Director) || person.has_role(Role::Deputy)) {
                    return Err("it is not a director's or deputy's".into());
                }
                if !person.wards.iter().any(|w| w == ward) {
                    return Err(format!("its signer is not of {ward}"));
                }
                let claims = read_claims(&verified.extra).map_err(|e| e.to_string())?;
                let delegated = claims.delegation_id.is_some();
                if person.has_role(Role::Deputy) && !delegated {
                    return Err("a deputy's signature claims no delegation".into());
                }
                if let Some(capacity) = &sig.reason {
                    capacity_agrees(&person, capacity, delegated)?;
                }
                Ok(person.signer_id.unwrap_or_default())
            });
        match checked {
            Ok(signer_id) => {
                return Ok(PersonSignature {
                    field: f.field.clone(),
                    widget: f.widget,
                    signer_id,
                });
            }
            Err(e) => why = format!("signature {}: {e}", f.field),
        }
    }
    Err(why)
}
