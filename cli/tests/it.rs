//! Integration tests: the real `signq` binary on ephemeral loopback ports, driven through
//! generated gRPC clients over mutual TLS and judged by outside tools (openssl) where they exist.

#![allow(unreachable_pub)] // test modules share helpers with `pub`

mod it {
    pub mod abuse;
    pub mod audit;
    pub mod auth;
    pub mod backup;
    pub mod calendar;
    pub mod clock;
    pub mod config;
    pub mod connections;
    pub mod crash;
    pub mod delegation;
    pub mod deploy;
    pub mod devices;
    pub mod director;
    pub mod exactly_once;
    pub mod fail_fast;
    pub mod faults;
    pub mod fixture;
    pub mod flow;
    pub mod input;
    pub mod json_http;
    pub mod limits;
    pub mod lockout;
    pub mod manuals;
    pub mod observability;
    pub mod openssl;
    pub mod outside_ca;
    pub mod pdf;
    pub mod reappointment;
    pub mod remote;
    pub mod renewal;
    pub mod replicas;
    pub mod scheduler_input;
    pub mod seal;
    pub mod secrets;
    pub mod services;
    pub mod shutdown;
    pub mod tablet;
    pub mod tokens;
    pub mod tracing_export;
    pub mod webhooks;
}
