//! One module per `signq` subcommand.

pub mod audit;
pub mod backup;
pub mod calendar;
pub mod client;
pub mod config;
pub mod delegation;
pub mod demo_seal;
pub mod dev;
pub mod inbox;
pub mod load;
pub mod load_replicas;
pub mod manuals;
pub mod pki;
pub mod records;
pub mod scheduler;
pub mod services;
pub mod sign;
pub mod signer;
pub mod simulate;
pub mod store;
pub mod verify;
pub mod webhooks;
