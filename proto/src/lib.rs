//! The `signq.v1` API: messages and gRPC services generated from `proto/signq/v1/*.proto`.
//!
//! The `.proto` files are the single source of truth for every client (the tablet app, intake
//! systems, the CLI); this crate only compiles them. `FILE_DESCRIPTOR_SET` feeds gRPC server
//! reflection so tools such as grpcurl can discover the API.

#![allow(missing_docs, unreachable_pub, clippy::all)]

/// The generated `signq.v1` package.
pub mod v1 {
    tonic::include_proto!("signq.v1");
}

/// The encoded `FileDescriptorSet` of the whole API, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/signq_descriptor.bin"));
