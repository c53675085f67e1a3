//! One message between its JSON form (proto3's canonical JSON mapping, as Connect clients write
//! it) and gRPC's length-prefixed frame, by the API's descriptors.
//!
//! The descriptors come from the `.proto` files themselves, so JSON clients see exactly the
//! fields, names (`idempotencyKey` or `idempotency_key`), enums (by name) and well-known types
//! (`"2026-12-01T09:00:00+07:00"` for a timestamp, base64 for bytes) that the gRPC API has; no
//! second, hand-written schema to drift from it.

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message as _;
use prost_reflect::{
    DescriptorError, DescriptorPool, DeserializeOptions, DynamicMessage, MessageDescriptor,
};
use serde_json::Value;
use tonic::Status;

/// The pool of the given encoded descriptor sets and of the `google.rpc` error details.
pub(crate) fn pool(sets: &[&[u8]]) -> Result<DescriptorPool, DescriptorError> {
    let mut pool = DescriptorPool::new();
    pool.decode_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)?;
    for set in sets {
        pool.decode_file_descriptor_set(*set)?;
    }
    Ok(pool)
}

/// A gRPC frame of the message `json` writes as `descriptor`: INVALID_ARGUMENT saying where and
/// what when it is not one (bad JSON, an unknown field, a value of the wrong kind).
pub(crate) fn frame_from_json(
    descriptor: &MessageDescriptor,
    json: &[u8],
) -> Result<Bytes, Status> {
    let refuse = |e: serde_json::Error| {
        Status::invalid_argument(format!(
            "the body is not a {} in JSON: {e}",
            descriptor.full_name()
        ))
    };
    let mut reader = serde_json::Deserializer::from_slice(json);
    let message = DynamicMessage::deserialize_with_options(
        descriptor.clone(),
        &mut reader,
        &DeserializeOptions::new(),
    )
    .map_err(refuse)?;
    reader.end().map_err(refuse)?;
    Ok(frame(&message.encode_to_vec()))
}

/// `message` (already encoded) as one uncompressed gRPC frame.
pub(crate) fn frame(message: &[u8]) -> Bytes {
    let mut framed = BytesMut::with_capacity(5 + message.len());
    framed.put_u8(0);
    framed.put_u32(u32::try_from(message.len()).unwrap_or(u32::MAX));
    framed.put_slice(message);
    framed.freeze()
}

/// The message of a unary reply's body: exactly one uncompressed frame.
pub(crate) fn unframe(body: &[u8]) -> Result<&[u8], Status> {
    let broken = || Status::internal("the service's reply is not one gRPC message");
    let (head, rest) = body.split_first_chunk::<5>().ok_or_else(broken)?;
    let [flag, a, b, c, d] = *head;
    let length = u32::from_be_bytes([a, b, c, d]) as usize;
    if flag != 0 || rest.len() != length {
        return Err(broken());
    }
    Ok(rest)
}

/// The JSON form of `bytes` decoded as `descriptor`.
pub(crate) fn to_json(descriptor: &MessageDescriptor, bytes: &[u8]) -> Result<Value, Status> {
    let message = DynamicMessage::decode(descriptor.clone(), bytes)
        .map_err(|e| Status::internal(format!("the service's reply does not decode: {e}")))?;
    serde_json::to_value(&message)
        .map_err(|e| Status::internal(format!("the service's reply has no JSON form: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_info() -> MessageDescriptor {
        pool(&[])
            .expect("pool")
            .get_message_by_name("google.rpc.RetryInfo")
            .expect("RetryInfo")
    }

    #[test]
    fn json_goes_to_a_frame_and_back() {
        let framed = frame_from_json(&retry_info(), br#"{"retryDelay": "1.5s"}"#).expect("json");
        let message = unframe(&framed).expect("one frame");
        let json = to_json(&retry_info(), message).expect("decodes");
        assert_eq!(json["retryDelay"], "1.500s");
    }

    #[test]
    fn bad_json_names_the_message_and_the_place() {
        for (body, says) in [
            (
                &br#"{"retryDelai": "1s"}"#[..],
                "unrecognized field name 'retryDelai'",
            ),
            (br#"{"retryDelay": 5}"#, "line 1 column"),
            (br#"{"retryDelay": "1s"} trailing"#, "trailing characters"),
            (b"", "EOF"),
        ] {
            let error = frame_from_json(&retry_info(), body).expect_err("refused");
            assert_eq!(error.code(), tonic::Code::InvalidArgument);
            assert!(
                error.message().contains("google.rpc.RetryInfo"),
                "{}",
                error.message()
            );
            assert!(error.message().contains(says), "{}", error.message());
        }
    }

    #[test]
    fn a_reply_must_be_exactly_one_frame() {
        assert!(unframe(&frame(b"abc")).is_ok());
        assert!(unframe(b"\0\0\0\0\x05abc").is_err());
        assert!(unframe(b"\x01\0\0\0\x03abc").is_err());
        assert!(unframe(b"\0\0").is_err());
    }
}
