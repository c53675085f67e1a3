//! Delegations as signed artifacts.
//!
//! A director grants a deputy the authority to sign some procedures for a while by signing a small
//! JSON document with their own signing key: an attached CMS SignedData, so that anyone can check
//! it with `openssl cms -verify` and read it as text. The signer service verifies the delegation
//! on every batch a deputy signs and refuses, naming the reason, when it does not verify, is not
//! the director's, has expired, does not cover a record's procedure, or was revoked.
//!
//! # Layout
//! - [`document`]: the delegation document and its validation.
//! - [`signed`]: signing a document and verifying a signed one.
//! - [`attributes`]: the signed attributes by which a deputy's signature names its delegation.

pub mod attributes;
pub mod document;
pub mod signed;

pub use document::{DelegationDoc, KIND, Notation};
pub use signed::{DelegationError, Refusal, SignedDelegation};
