//! The ward PKI built on rcgen: CA, certificates for services and signers, revocation.
