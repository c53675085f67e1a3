//! The signq signing service and the ward PKI.
//!
//! # Layout
//! - [`pki`]: the ward CA and the certificates it issues (rcgen), the CRL, the inventory.
//! - [`cms`]: detached and attached CMS SignedData, made and verified.

pub mod cms;
pub mod pki;
