//! The protobuf codec of every signq service and client: prost's, except that a message that does
//! not decode is refused as INVALID_ARGUMENT naming the field, with a BadRequest detail (prost's
//! own codec answers INTERNAL, as if the server had failed). The commonest case is a string field
//! holding bytes that are not UTF-8.

use std::marker::PhantomData;

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec as TonicCodec, DecodeBuf, Decoder as TonicDecoder};
use tonic_prost::ProstEncoder;
use tonic_types::{ErrorDetails, StatusExt};

/// The codec the generated services and clients use (see `build.rs`).
#[derive(Debug, Clone)]
pub struct Codec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Codec(PhantomData)
    }
}

impl<T, U> TonicCodec for Codec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = Decoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        Decoder(PhantomData)
    }
}

/// Decodes `U`, refusing what does not decode with the field named.
#[derive(Debug, Clone)]
pub struct Decoder<U>(PhantomData<U>);

impl<U: Message + Default> TonicDecoder for Decoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf).map(Some).map_err(|e| invalid(&e))
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}

/// INVALID_ARGUMENT for a message that does not decode, naming the field as in the request.
pub fn invalid(error: &prost::DecodeError) -> Status {
    let (field, problem) = describe(&error.to_string());
    let message = if field.is_empty() {
        format!("the request is not a valid protobuf message: {problem}")
    } else {
        format!("{field}: {problem}")
    };
    Status::with_error_details(
        tonic::Code::InvalidArgument,
        message,
        ErrorDetails::with_bad_request_violation(field, problem),
    )
}

/// Splits prost's description ("failed to decode Protobuf message: Inner.name: Outer.inner:
/// invalid string value: data is not UTF-8 encoded") into the field path as the request names it
/// (`inner.name`) and the problem in words.
fn describe(text: &str) -> (String, String) {
    let rest = text
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(text);
    let mut fields = Vec::new();
    let mut problem = rest;
    while let Some((segment, tail)) = problem.split_once(": ") {
        match segment.split_once('.') {
            Some((message, field))
                if !message.is_empty()
                    && message.chars().all(|c| c.is_ascii_alphanumeric())
                    && !field.is_empty()
                    && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                fields.push(field.to_string());
                problem = tail;
            }
            _ => break,
        }
    }
    fields.reverse();
    let problem = match problem {
        "invalid string value: data is not UTF-8 encoded" => "is not valid UTF-8 text".to_string(),
        other => other.to_string(),
    };
    (fields.join("."), problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_are_the_requests() {
        assert_eq!(
            describe(
                "failed to decode Protobuf message: SubmitRequest.title: invalid string value: data is not UTF-8 encoded"
            ),
            ("title".to_string(), "is not valid UTF-8 text".to_string())
        );
        assert_eq!(
            describe("failed to decode Protobuf message: Ward.name: CreateWardRequest.ward: invalid string value: data is not UTF-8 encoded").0,
            "ward.name"
        );
        assert_eq!(
            describe("failed to decode Protobuf message: buffer underflow"),
            (String::new(), "buffer underflow".to_string())
        );
    }
}
