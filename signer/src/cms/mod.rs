//! CMS SignedData (RFC 5652): detached and attached signatures and their verification.
