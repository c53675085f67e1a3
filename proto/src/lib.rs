//! The `signq.v1` API: messages and gRPC services generated from `proto/signq/v1/*.proto`.
//!
//! The `.proto` files are the single source of truth for every client (the tablet app, intake
//! systems, the CLI); this crate only compiles them. `FILE_DESCRIPTOR_SET` feeds gRPC server
//! reflection so tools such as grpcurl can discover the API.

#![allow(missing_docs, unreachable_pub, clippy::all)]

pub mod codec;
pub mod reference;

/// The generated `signq.v1` package.
pub mod v1 {
    tonic::include_proto!("signq.v1");
}

/// The encoded `FileDescriptorSet` of the whole API, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/signq_descriptor.bin"));

/// Server reflection for one port: it lists the given `signq.v1` services (fully qualified,
/// e.g. `"signq.v1.Signer"`), health and reflection itself, and nothing the port does not serve.
pub fn reflection(
    services: &[&str],
) -> Result<
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    tonic_reflection::server::Error,
> {
    let mut builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1.ServerReflection");
    for service in services {
        builder = builder.with_service_name(*service);
    }
    builder.build_v1()
}
