//! The plain data the engine hands the balancer (signers as the balancer needs to see them, queued
//! records) and what it gets back (grants). Kept apart from the logic so the engine and the
//! simulator can build them without pulling in anything else.

use time::OffsetDateTime;

use crate::model::{Priority, SignerRole, Stage};

/// A signer as the balancer sees it: identity, ward, role and availability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerView {
    /// The signer id.
    pub id: String,
    /// The ward.
    pub ward: String,
    /// Director, deputy or clerk.
    pub role: SignerRole,
    /// Marked away: gets nothing, and counts as unable to sign for the director-last rule.
    pub away: bool,
    /// Has an open inbox stream (not needed to be eligible; used by the deadline guard and release).
    pub online: bool,
}

/// A record waiting for a signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The record id.
    pub id: String,
    /// The ward.
    pub ward: String,
    /// The procedure code.
    pub procedure: String,
    /// The priority.
    pub priority: Priority,
    /// The deadline.
    pub deadline: OffsetDateTime,
    /// When it was accepted (aging counts from here).
    pub submitted_at: OffsetDateTime,
    /// Which signature it waits for: a person's, or the ward's seal (clerks only).
    pub stage: Stage,
}

/// A record handed to a signer by [`Balancer::take`](super::Balancer::take).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The record id.
    pub id: String,
    /// A deputy-signable record given to the director by the deadline guard.
    pub escalated: bool,
}
