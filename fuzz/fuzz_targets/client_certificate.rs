//! Outside bytes: a certificate a client presents, to a signq TLS server at the end of its
//! handshake, or to the scheduler when an operator enrolls a director's or deputy's signing
//! certificate (DER X.509).
//!
//! Each input is read as a peer identity, judged as a TLS client certificate against the
//! committed ward CA and CRL, and checked as a signing certificate at the corpus signing time.
//! A certificate the TLS judgement accepts must name the identity that reading it gives.
//! Nothing may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signq_fuzz::{SIGNED_AT, tls_trust, trust_store};
use signq_kit::identity::PeerIdentity;
use signq_kit::tls::server::judge_certificate;
use signq_signer::cms::check_signing_certificate;

fuzz_target!(|data: &[u8]| {
    let identity = PeerIdentity::from_der(data);
    if let Ok(judged) = judge_certificate(tls_trust(), data) {
        assert_eq!(identity.ok(), Some(judged));
    }
    let _ = check_signing_certificate(trust_store(), data, SIGNED_AT);
});
