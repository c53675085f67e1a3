//! Who may sign what, now: the eligibility rules of DESIGN.md "Balancing".
//!
//! Clerks are eligible for the records of their ward waiting for its seal, and nothing else;
//! nobody else is eligible for those. Otherwise a signer is eligible for a record when it is in the record's ward and not away; a director may
//! sign every procedure of the ward; a deputy only under a delegation of the ward naming it that
//! covers the procedure at `now` (`Delegation::covers`: scope, validity window, not revoked) and,
//! if capped, whose daily count is below the cap. The count is the signatures used today plus the
//! records leased under the delegation and not yet signed (and, when assigning under early
//! binding, the records already queued for the deputy under it), so a cap of 3 never hands out a
//! 4th record even while the first three are still being signed. Being online is not needed to be
//! eligible (it matters only to the director's deadline guard and to release).

use std::collections::HashMap;

use time::OffsetDateTime;

use super::Balancer;
use super::state::WardState;
use super::types::{Entry, SignerView};
use crate::model::{Delegation, SignerRole, Stage};

/// What counts against a daily cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Count {
    /// Used today plus leased: may one more record be leased under it now?
    Leases,
    /// Used today plus leased plus queued: may one more record be assigned to the deputy's queue?
    LeasesAndQueues,
}

/// By what authority a signer may sign a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Authority {
    /// The director's own.
    Own,
    /// A deputy's, under this delegation (charged against its cap).
    Delegated(String),
}

impl Authority {
    /// The delegation to charge, if any.
    pub(super) fn charge(self) -> Option<String> {
        match self {
            Authority::Own => None,
            Authority::Delegated(d) => Some(d),
        }
    }
}

/// Grants made earlier in the same call, per delegation (not yet in the balancer's counters).
pub(super) type Extra = HashMap<String, u32>;

impl Balancer {
    /// The signer's directory facts, if it is known and not away.
    pub(super) fn available(&self, signer: &str) -> Option<&SignerView> {
        self.signers.get(signer)?.view.as_ref().filter(|v| !v.away)
    }

    /// How many units of a delegation's cap are taken.
    fn cap_load(&self, delegation: &str, count: Count, extra: &Extra) -> u32 {
        let used = self.used.get(delegation).copied().unwrap_or(0);
        let held = self.held.get(delegation).copied().unwrap_or_default();
        let queued = if count == Count::LeasesAndQueues {
            held.queued
        } else {
            0
        };
        used.saturating_add(held.leased)
            .saturating_add(queued)
            .saturating_add(extra.get(delegation).copied().unwrap_or(0))
    }

    /// The delegation `deputy` would sign `procedure` under at `now`: one of the ward's that
    /// names the deputy, covers the procedure and is under its cap. Uncapped delegations first
    /// (they spare the capped ones), then the most remaining, then registration order.
    pub(super) fn delegation_for<'w>(
        &self,
        ward: &'w WardState,
        deputy: &str,
        procedure: &str,
        now: OffsetDateTime,
        count: Count,
        extra: &Extra,
    ) -> Option<&'w Delegation> {
        let mut best: Option<(&Delegation, u32)> = None;
        for d in &ward.delegations {
            if d.deputy_id != deputy || !d.covers(procedure, now) {
                continue;
            }
            let remaining = if d.daily_cap == 0 {
                u32::MAX
            } else {
                d.daily_cap
                    .saturating_sub(self.cap_load(&d.id, count, extra))
            };
            if remaining > 0 && best.is_none_or(|(_, r)| remaining > r) {
                best = Some((d, remaining));
            }
        }
        best.map(|(d, _)| d)
    }

    /// Whether `signer` may sign `entry` now, and under what authority.
    pub(super) fn authority(
        &self,
        signer: &SignerView,
        entry: &Entry,
        now: OffsetDateTime,
        count: Count,
        extra: &Extra,
    ) -> Option<Authority> {
        if signer.away || signer.ward != entry.ward {
            return None;
        }
        match (signer.role, entry.stage) {
            (SignerRole::Clerk, Stage::Seal) => Some(Authority::Own),
            (_, Stage::Seal) | (SignerRole::Clerk, Stage::Person) => None,
            (SignerRole::Director, Stage::Person) => Some(Authority::Own),
            (SignerRole::Deputy, Stage::Person) => {
                let ward = self.wards.get(&entry.ward)?;
                let d =
                    self.delegation_for(ward, &signer.id, &entry.procedure, now, count, extra)?;
                Some(Authority::Delegated(d.id.clone()))
            }
        }
    }

    /// The ward's signers of `role` that are known and not away, in id order.
    pub(super) fn ward_signers(
        &self,
        ward: &WardState,
        role: SignerRole,
    ) -> impl Iterator<Item = &SignerView> {
        ward.signers
            .iter()
            .filter_map(|id| self.available(id))
            .filter(move |v| v.role == role)
    }

    /// The deputies of the ward eligible for `procedure` now, in id order, with the delegation
    /// each would sign under.
    pub(super) fn eligible_deputies<'a>(
        &'a self,
        ward: &'a WardState,
        procedure: &str,
        now: OffsetDateTime,
        count: Count,
    ) -> Vec<(&'a SignerView, &'a Delegation)> {
        let none = Extra::new();
        self.ward_signers(ward, SignerRole::Deputy)
            .filter_map(|v| {
                Some((
                    v,
                    self.delegation_for(ward, &v.id, procedure, now, count, &none)?,
                ))
            })
            .collect()
    }

    /// Whether any deputy of the ward, present or away, could sign `procedure` now under a
    /// delegation with room left: if so the record is not director-only, and an away deputy's
    /// records wait for them until the deadline guard hands them to the director.
    pub(super) fn deputy_in_scope(
        &self,
        ward: &WardState,
        procedure: &str,
        now: OffsetDateTime,
    ) -> bool {
        let none = Extra::new();
        ward.signers.iter().any(|id| {
            self.signers
                .get(id)
                .and_then(|s| s.view.as_ref())
                .is_some_and(|v| v.role == SignerRole::Deputy)
                && self
                    .delegation_for(ward, id, procedure, now, Count::Leases, &none)
                    .is_some()
        })
    }

    /// A delegation to charge a lease restored without a `now` (start-up): the ward's
    /// non-revoked delegation naming the deputy and listing the procedure, uncapped first.
    pub(super) fn restored_charge(&self, signer: &str, entry: &Entry) -> Option<String> {
        let view = self.signers.get(signer)?.view.as_ref()?;
        if view.role != SignerRole::Deputy {
            return None;
        }
        let ward = self.wards.get(&entry.ward)?;
        let mut listed = ward.delegations.iter().filter(|d| {
            d.deputy_id == signer
                && d.revoked_at.is_none()
                && d.procedure_codes.contains(&entry.procedure)
        });
        let first = listed.clone().next();
        listed
            .find(|d| d.daily_cap == 0)
            .or(first)
            .map(|d| d.id.clone())
    }
}
