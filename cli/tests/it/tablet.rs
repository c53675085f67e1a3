//! The tablet app as browsers and other TLS stacks reach it: the scheduler's TLS port serves the
//! embedded page to an OpenSSL client (not only to rustls and Chromium's BoringSSL), which also
//! proves the client-certificate request it sends is well formed.

use std::io::Write;
use std::process::{Command, Stdio};

use super::fixture::Ward;

#[test]
fn an_openssl_client_gets_the_tablet_page_over_the_scheduler_tls_port() {
    let ward = Ward::start(&[]);
    let port = ward.scheduler.rsplit(':').next().expect("port").to_string();
    let mut client = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-verify_return_error",
            "-servername",
            "localhost",
        ])
        .args(["-connect", &format!("127.0.0.1:{port}")])
        .arg("-CAfile")
        .arg(ward.path("pki/ca.crt.pem"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl s_client");
    client
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("request");
    let out = client.wait_with_output().expect("s_client");
    let reply = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        reply.starts_with("HTTP/1.1 200"),
        "reply: {reply}\nopenssl: {errors}"
    );
    assert!(
        reply.contains("content-security-policy: default-src 'self'"),
        "{reply}"
    );
    assert!(reply.contains(r#"<div id="app">"#), "{reply}");
}
