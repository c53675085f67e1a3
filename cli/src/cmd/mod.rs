//! One module per `signq` subcommand.

pub mod client;
pub mod delegation;
pub mod dev;
pub mod load;
pub mod pki;
pub mod sign;
pub mod signer;
pub mod verify;
