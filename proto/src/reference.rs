//! The API reference (`docs/api.md`), generated from the `.proto` files' descriptors and their
//! comments, so the reference cannot drift from the API: a test compares the committed file with
//! what this produces.
//!
//! Comments come from the descriptors' source info, located by path: a message is `[4, i]`, its
//! field `[4, i, 2, j]`, a nested message `[4, i, 3, k]`, a nested enum `[4, i, 4, k]`; a
//! top-level enum `[5, i]` and its value `[5, i, 2, j]`; a service `[6, i]` and its method
//! `[6, i, 2, j]`.

use std::collections::HashMap;
use std::fmt::Write;

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    FileDescriptorSet,
};

/// The package the reference covers.
const PACKAGE: &str = "signq.v1";

/// The reference of the whole `signq.v1` API as Markdown.
pub fn markdown() -> String {
    let set = FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET)
        .expect("the descriptor set built with this crate decodes");
    let mut files: Vec<&FileDescriptorProto> =
        set.file.iter().filter(|f| f.package() == PACKAGE).collect();
    files.sort_by_key(|f| f.name());

    let mut out = String::new();
    out.push_str(
        "# The signq.v1 API\n\n\
         Generated from `proto/proto/signq/v1/*.proto` and their comments; do not edit by hand.\n\
         `cargo test -p signq-proto --test reference` fails when this file is out of date, and\n\
         with `SIGNQ_UPDATE_API_DOCS=1` writes it anew.\n\n\
         Every service is served over mutual TLS; the tablet app reaches `Inbox` and `Admin`\n\
         through gRPC-web on the same port. Errors are gRPC status codes with a message naming\n\
         what was wrong, and `google.rpc` details (`BadRequest`, `RetryInfo`, `ErrorInfo`)\n\
         where a program can act on them.\n",
    );

    out.push_str("\n## Services\n");
    for file in &files {
        let comments = Comments::of(file);
        for (i, service) in file.service.iter().enumerate() {
            let path = [6, i as i32];
            let _ = write!(
                out,
                "\n### {}\n\n`{PACKAGE}.{}`, in `{}`.",
                service.name(),
                service.name(),
                file.name()
            );
            paragraph(&mut out, comments.get(&path));
            out.push_str("\n| method | request | response | what it does |\n|---|---|---|---|\n");
            for (j, method) in service.method.iter().enumerate() {
                let stream = |s: bool| if s { "stream " } else { "" };
                let _ = writeln!(
                    out,
                    "| `{}` | {}{} | {}{} | {} |",
                    method.name(),
                    stream(method.client_streaming()),
                    type_link(method.input_type()),
                    stream(method.server_streaming()),
                    type_link(method.output_type()),
                    cell(comments.get(&[6, i as i32, 2, j as i32]))
                );
            }
        }
    }

    out.push_str("\n## Messages\n");
    for file in &files {
        let comments = Comments::of(file);
        for (i, message) in file.message_type.iter().enumerate() {
            write_message(&mut out, &comments, file, "", message, vec![4, i as i32]);
        }
    }

    out.push_str("\n## Enums\n");
    for file in &files {
        let comments = Comments::of(file);
        for (i, e) in file.enum_type.iter().enumerate() {
            write_enum(&mut out, &comments, file, "", e, vec![5, i as i32]);
        }
        for (i, message) in file.message_type.iter().enumerate() {
            nested_enums(&mut out, &comments, file, "", message, vec![4, i as i32]);
        }
    }
    out
}

/// The leading comments of a file's elements, by their source path.
struct Comments(HashMap<Vec<i32>, String>);

impl Comments {
    fn of(file: &FileDescriptorProto) -> Self {
        let locations = file
            .source_code_info
            .iter()
            .flat_map(|info| &info.location)
            .filter_map(|l| {
                let text = l.leading_comments().trim();
                (!text.is_empty()).then(|| (l.path.clone(), text.to_owned()))
            });
        Comments(locations.collect())
    }

    fn get(&self, path: &[i32]) -> &str {
        self.0.get(path).map_or("", String::as_str)
    }
}

fn write_message(
    out: &mut String,
    comments: &Comments,
    file: &FileDescriptorProto,
    outer: &str,
    message: &DescriptorProto,
    path: Vec<i32>,
) {
    if is_map_entry(message) {
        return;
    }
    let name = format!("{outer}{}", message.name());
    let _ = write!(out, "\n### {name}\n\nIn `{}`.", file.name());
    paragraph(out, comments.get(&path));
    if message.field.is_empty() {
        out.push_str("\nNo fields.\n");
    } else {
        out.push_str("\n| field | number | type | meaning |\n|---|---:|---|---|\n");
        for (j, field) in message.field.iter().enumerate() {
            let mut meaning = cell(comments.get(&[path.as_slice(), &[2, j as i32]].concat()));
            if let Some(oneof) = field
                .oneof_index
                .filter(|_| !field.proto3_optional())
                .and_then(|k| message.oneof_decl.get(k as usize))
            {
                meaning = format!("one of `{}`. {meaning}", oneof.name());
            }
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                field.name(),
                field.number(),
                field_type(field, message),
                meaning.trim_end()
            );
        }
    }
    for (k, nested) in message.nested_type.iter().enumerate() {
        let nested_path = [path.as_slice(), &[3, k as i32]].concat();
        write_message(
            out,
            comments,
            file,
            &format!("{name}."),
            nested,
            nested_path,
        );
    }
}

fn nested_enums(
    out: &mut String,
    comments: &Comments,
    file: &FileDescriptorProto,
    outer: &str,
    message: &DescriptorProto,
    path: Vec<i32>,
) {
    let name = format!("{outer}{}.", message.name());
    for (k, e) in message.enum_type.iter().enumerate() {
        let enum_path = [path.as_slice(), &[4, k as i32]].concat();
        write_enum(out, comments, file, &name, e, enum_path);
    }
    for (k, nested) in message.nested_type.iter().enumerate() {
        let nested_path = [path.as_slice(), &[3, k as i32]].concat();
        nested_enums(out, comments, file, &name, nested, nested_path);
    }
}

fn write_enum(
    out: &mut String,
    comments: &Comments,
    file: &FileDescriptorProto,
    outer: &str,
    e: &EnumDescriptorProto,
    path: Vec<i32>,
) {
    let _ = write!(out, "\n### {outer}{}\n\nIn `{}`.", e.name(), file.name());
    paragraph(out, comments.get(&path));
    out.push_str("\n| value | number | meaning |\n|---|---:|---|\n");
    for (j, value) in e.value.iter().enumerate() {
        let meaning = cell(comments.get(&[path.as_slice(), &[2, j as i32]].concat()));
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            value.name(),
            value.number(),
            meaning
        );
    }
}

/// A comment as a paragraph of its own (after the line it follows), or nothing.
fn paragraph(out: &mut String, text: &str) {
    if text.is_empty() {
        out.push('\n');
    } else {
        let _ = writeln!(out, " {}", one_line(text));
    }
}

/// A comment fit for a table cell: one line, its pipes escaped.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A field's type as a reader writes it: `repeated T`, `optional T`, `map<K, V>`.
fn field_type(field: &FieldDescriptorProto, message: &DescriptorProto) -> String {
    let base = match field.r#type() {
        Type::Message | Type::Enum => type_link(field.type_name()),
        other => scalar(other).to_owned(),
    };
    if field.label() == Label::Repeated {
        let entry = message
            .nested_type
            .iter()
            .find(|n| is_map_entry(n) && field.type_name().ends_with(&format!(".{}", n.name())));
        if let Some(entry) = entry {
            let key = field_type(&entry.field[0], entry);
            let value = field_type(&entry.field[1], entry);
            return format!("map<{key}, {value}>");
        }
        return format!("repeated {base}");
    }
    if field.proto3_optional() {
        return format!("optional {base}");
    }
    base
}

fn is_map_entry(message: &DescriptorProto) -> bool {
    message.options.as_ref().is_some_and(|o| o.map_entry())
}

/// A message or enum's name, linked to its section when it is this package's own.
fn type_link(full_name: &str) -> String {
    match full_name.strip_prefix(&format!(".{PACKAGE}.")) {
        Some(name) => format!("[`{name}`](#{})", name.to_lowercase().replace('.', "")),
        None => format!("`{}`", full_name.trim_start_matches('.')),
    }
}

fn scalar(t: Type) -> &'static str {
    match t {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
        Type::Group | Type::Message | Type::Enum => "message",
    }
}
