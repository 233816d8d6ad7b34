//! Terraform state (format version 4) → the resources it manages. Pure: bytes in,
//! resources or an error naming the place out. Reading files, globs and the S3 backend
//! is the adapters' job.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// The state format this reader understands (Terraform 0.12 and later).
pub const STATE_FORMAT: u64 = 4;

/// A `count` or `for_each` instance key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexKey {
    /// `count` index.
    Int(i64),
    /// `for_each` key.
    Str(String),
}

impl fmt::Display for IndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexKey::Int(index) => write!(f, "[{index}]"),
            IndexKey::Str(key) => write!(f, "[{}]", serde_json::Value::String(key.clone())),
        }
    }
}

/// One managed resource instance.
#[derive(Debug, Clone, PartialEq)]
pub struct StateResource {
    /// Full address, e.g. `module.net.aws_security_group.web["a"]`.
    pub address: String,
    /// Module path (`module.a.module.b`), empty at the root.
    pub module: String,
    /// Resource type, e.g. `aws_instance`.
    pub resource_type: String,
    /// Resource name.
    pub name: String,
    /// Provider configuration address.
    pub provider: String,
    /// Instance key.
    pub index: Option<IndexKey>,
    /// The provider's schema version for these attributes.
    pub schema_version: u64,
    /// Attributes as Terraform recorded them.
    pub attributes: Recorded,
}

impl StateResource {
    /// The cloud id (`id` attribute), when recorded.
    pub fn id(&self) -> Option<Cow<'_, str>> {
        self.attributes.text("id")
    }
}

/// A resource's attributes as the state recorded them: its span of the state file's text,
/// which every resource of the file shares, read when asked.
///
/// Why not a `serde_json::Value` per resource: a tree of maps and strings takes about ten
/// times the bytes it was parsed from (a 100,000-resource state of 52 MiB held 535 MiB),
/// and most resources of a platform state are never compared, only looked up by id. The
/// file's text is kept once; a comparison builds one resource's tree and drops it.
#[derive(Clone)]
pub struct Recorded {
    text: Arc<String>,
    span: Range<usize>,
}

/// Attributes given as a value (tests, generated states).
impl From<serde_json::Value> for Recorded {
    fn from(value: serde_json::Value) -> Self {
        let text = value.to_string();
        let span = 0..text.len();
        Self { text: Arc::new(text), span }
    }
}

impl Recorded {
    /// The attributes' JSON text, as recorded.
    pub fn json(&self) -> &str {
        &self.text[self.span.clone()]
    }

    /// The attributes as a tree (built on each call: keep it only as long as it is needed).
    pub fn value(&self) -> serde_json::Value {
        // `parse` only keeps spans serde_json read as one JSON value.
        serde_json::from_str(self.json()).expect("a recorded span is one JSON value")
    }

    /// The top-level attributes whose values are text, in the recorded order, read
    /// without building the tree (ids, ARNs and names are all top-level text).
    pub fn texts(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        let mut deserializer = serde_json::Deserializer::from_str(self.json());
        Texts::deserialize(&mut deserializer).map(|texts| texts.0).unwrap_or_default()
    }

    /// One top-level attribute, when it is text.
    pub fn text(&self, key: &str) -> Option<Cow<'_, str>> {
        self.texts().into_iter().find(|(name, _)| name == key).map(|(_, value)| value)
    }
}

impl PartialEq for Recorded {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl fmt::Debug for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Recorded").field(&self.json()).finish()
    }
}

/// The top-level (key, text) pairs of a JSON object; other values are skipped unread.
struct Texts<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

/// A JSON string, borrowed from the text unless it holds escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// Some(text) for a JSON string, None (the value skipped) for anything else.
struct MaybeText<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for Texts<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Texts<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Texts<'de>, A::Error> {
                let mut texts = Vec::new();
                while let Some(Text(key)) = map.next_key()? {
                    if let MaybeText(Some(value)) = map.next_value()? {
                        texts.push((key, value));
                    }
                }
                Ok(Texts(texts))
            }
        }
        deserializer.deserialize_map(Object)
    }
}

impl<'de> Deserialize<'de> for MaybeText<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Any;
        impl<'de> Visitor<'de> for Any {
            type Value = MaybeText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Borrowed(value))))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Owned(value.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Owned(value))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeText(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeText(None))
            }
        }
        deserializer.deserialize_any(Any)
    }
}

/// A parsed state.
#[derive(Debug, Clone, PartialEq)]
pub struct StateFile {
    /// Where it came from (a path or `s3://bucket/key`).
    pub source: String,
    /// The Terraform version that wrote it.
    pub terraform_version: String,
    /// Serial.
    pub serial: u64,
    /// Lineage.
    pub lineage: String,
    /// Managed resource instances (data sources are left out).
    pub resources: Vec<StateResource>,
    /// Data source instances skipped.
    pub data_sources: usize,
}

/// Why a state was refused. Every variant names the source; JSON errors the line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Nothing in the file.
    #[error("{file}: empty file, not a Terraform state")]
    Empty {
        /// The file (or `s3://bucket/key`).
        file: String,
    },
    /// Not JSON, or cut short.
    #[error("{file}:{line}:{column}: not a valid Terraform state: {message}")]
    Json {
        /// The file (or `s3://bucket/key`).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde_json said.
        message: String,
    },
    /// JSON of the wrong shape.
    #[error("{file}:{line}:{column}: {path}: {message}")]
    Shape {
        /// The file (or `s3://bucket/key`).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// JSON path, e.g. `resources[3].instances[0].index_key`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A state format this reader does not know.
    #[error(
        "{file}: unsupported state format version {found}; DriftGuard reads version {STATE_FORMAT} (Terraform 0.12 and later)"
    )]
    UnsupportedFormat {
        /// The file (or `s3://bucket/key`).
        file: String,
        /// The version found.
        found: String,
    },
    /// `terraform_version` is not a version that writes format 4.
    #[error("{file}: terraform_version {found:?} {reason}")]
    TerraformVersion {
        /// The file (or `s3://bucket/key`).
        file: String,
        /// The value found.
        found: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

#[derive(Deserialize)]
struct RawState<'a> {
    version: serde_json::Value,
    #[serde(default)]
    terraform_version: Option<String>,
    #[serde(default)]
    serial: u64,
    #[serde(default)]
    lineage: String,
    /// Each resource read on its own afterwards (`RawResource`), so a large state's
    /// resources are never all held twice, as parsed and as indexed.
    #[serde(default, borrow)]
    resources: Vec<&'a RawValue>,
}

/// Borrowed from the file's text where it holds no escapes: a large state's resources are
/// not copied twice on their way to [`StateResource`].
#[derive(Deserialize)]
struct RawResource<'a> {
    #[serde(default, borrow)]
    module: Option<Cow<'a, str>>,
    #[serde(borrow)]
    mode: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    resource_type: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default, borrow)]
    provider: Cow<'a, str>,
    #[serde(default, borrow)]
    instances: Vec<RawInstance<'a>>,
}

#[derive(Deserialize)]
struct RawInstance<'a> {
    #[serde(default)]
    index_key: Option<serde_json::Value>,
    #[serde(default)]
    schema_version: u64,
    #[serde(default, borrow)]
    attributes: Option<&'a RawValue>,
    #[serde(default, borrow)]
    attributes_flat: Option<&'a RawValue>,
}

/// Parses `major.minor.patch[-suffix]`.
fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let core = text.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((major, minor, patch))
}

/// 1-based (line, column) of a byte offset.
fn position(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |newline| newline + 1);
    (before.split(|&b| b == b'\n').count(), offset - line_start + 1)
}

/// Parses a state file's bytes. `source` names it in every error. The bytes are kept
/// (attributes are spans of them, [`Recorded`]): pass them by value to spare a copy.
pub fn parse(source: &str, bytes: impl Into<Vec<u8>>) -> Result<StateFile, StateError> {
    let bytes = bytes.into();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(StateError::Empty { file: source.to_owned() });
    }
    // serde would read a JSON array as a struct's fields in order: refuse it plainly.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(StateError::Shape {
            file: source.to_owned(),
            line: 1,
            column: 1,
            path: "(root)".to_owned(),
            message: "a Terraform state is a JSON object, found a list".to_owned(),
        });
    }
    // JSON is UTF-8 (RFC 8259), and the attributes are kept as text.
    let text = match String::from_utf8(bytes) {
        Ok(text) => Arc::new(text),
        Err(error) => {
            let (line, column) = position(error.as_bytes(), error.utf8_error().valid_up_to());
            return Err(StateError::Json {
                file: source.to_owned(),
                line,
                column,
                message: "invalid UTF-8 (JSON text is UTF-8)".to_owned(),
            });
        }
    };
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    let raw: RawState =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| refused(source, error, None))?;
    if let Err(error) = deserializer.end() {
        return Err(StateError::Json {
            file: source.to_owned(),
            line: error.line(),
            column: error.column(),
            message: strip_position(&error.to_string()),
        });
    }
    if raw.version.as_u64() != Some(STATE_FORMAT) {
        return Err(StateError::UnsupportedFormat { file: source.to_owned(), found: raw.version.to_string() });
    }
    let terraform_version = raw.terraform_version.unwrap_or_default();
    match parse_version(&terraform_version) {
        None => {
            return Err(StateError::TerraformVersion {
                file: source.to_owned(),
                found: terraform_version,
                reason: "is not a version (major.minor.patch)",
            });
        }
        Some((0, minor, _)) if minor < 12 => {
            return Err(StateError::TerraformVersion {
                file: source.to_owned(),
                found: terraform_version,
                reason: "cannot have written state format 4 (Terraform 0.12 or later did): the file is inconsistent",
            });
        }
        Some(_) => {}
    }
    // Most resources have one instance.
    let mut resources = Vec::with_capacity(raw.resources.len());
    let mut data_sources = 0;
    for (resource_index, resource) in raw.resources.into_iter().enumerate() {
        let start = offset(resource, &text);
        let mut deserializer = serde_json::Deserializer::from_str(resource.get());
        let resource: RawResource = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            refused(source, error, Some((position(text.as_bytes(), start), format!("resources[{resource_index}]"))))
        })?;
        if resource.mode == "data" {
            data_sources += resource.instances.len();
            continue;
        }
        if resource.mode != "managed" {
            return Err(StateError::Shape {
                file: source.to_owned(),
                line: 1,
                column: 1,
                path: format!("resources[{resource_index}].mode"),
                message: format!("unknown mode {:?}; expected managed or data", resource.mode),
            });
        }
        // Terraform never writes a managed resource without a type and a name; an address
        // built from empty parts would match nothing, or worse, something else.
        for (field, value) in [("type", &resource.resource_type), ("name", &resource.name)] {
            if value.trim().is_empty() {
                return Err(StateError::Shape {
                    file: source.to_owned(),
                    line: 1,
                    column: 1,
                    path: format!("resources[{resource_index}].{field}"),
                    message: format!("a managed resource needs a non-empty {field}"),
                });
            }
        }
        let module = resource.module.unwrap_or_default();
        for (instance_index, instance) in resource.instances.into_iter().enumerate() {
            let index = match instance.index_key {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(key)) => Some(IndexKey::Str(key)),
                Some(serde_json::Value::Number(number)) if number.as_i64().is_some() => {
                    number.as_i64().map(IndexKey::Int)
                }
                Some(other) => {
                    return Err(StateError::Shape {
                        file: source.to_owned(),
                        line: 1,
                        column: 1,
                        path: format!("resources[{resource_index}].instances[{instance_index}].index_key"),
                        message: format!("expected an integer or a string, found {other}"),
                    });
                }
            };
            let attributes = match (instance.attributes, instance.attributes_flat) {
                (Some(raw), _) | (None, Some(raw)) => {
                    let start = offset(raw, &text);
                    if !raw.get().starts_with('{') {
                        let (line, column) = position(text.as_bytes(), start);
                        let field = if instance.attributes.is_some() { "attributes" } else { "attributes_flat" };
                        return Err(StateError::Shape {
                            file: source.to_owned(),
                            line,
                            column,
                            path: format!("resources[{resource_index}].instances[{instance_index}].{field}"),
                            message: "expected an object of attributes".to_owned(),
                        });
                    }
                    Recorded { text: Arc::clone(&text), span: start..start + raw.get().len() }
                }
                (None, None) => Recorded::from(serde_json::Value::Object(serde_json::Map::new())),
            };
            let mut address = String::new();
            if !module.is_empty() {
                address.push_str(&module);
                address.push('.');
            }
            address.push_str(&resource.resource_type);
            address.push('.');
            address.push_str(&resource.name);
            if let Some(index) = &index {
                address.push_str(&index.to_string());
            }
            resources.push(StateResource {
                address,
                module: module.to_string(),
                resource_type: resource.resource_type.to_string(),
                name: resource.name.to_string(),
                provider: resource.provider.to_string(),
                index,
                schema_version: instance.schema_version,
                attributes,
            });
        }
    }
    Ok(StateFile {
        source: source.to_owned(),
        terraform_version,
        serial: raw.serial,
        lineage: raw.lineage,
        resources,
        data_sources,
    })
}

/// Where a value parsed from `text` starts in it.
fn offset(value: &RawValue, text: &str) -> usize {
    value.get().as_ptr().addr() - text.as_ptr().addr()
}

/// The error for JSON serde refused. `within`: the place (line, column) and path of the
/// value the JSON was cut from, when it was (a resource read on its own).
fn refused(
    source: &str,
    error: serde_path_to_error::Error<serde_json::Error>,
    within: Option<((usize, usize), String)>,
) -> StateError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    let (mut line, mut column) = (inner.line().max(1), inner.column().max(1));
    let path = match within {
        None => path,
        Some(((outer_line, outer_column), outer_path)) => {
            if line == 1 {
                column += outer_column - 1;
            }
            line += outer_line - 1;
            if path == "." { outer_path } else { format!("{outer_path}.{path}") }
        }
    };
    let message = strip_position(&inner.to_string());
    if inner.is_data() {
        StateError::Shape { file: source.to_owned(), line, column, path, message }
    } else {
        StateError::Json { file: source.to_owned(), line, column, message }
    }
}

/// serde_json appends " at line L column C"; the error already carries them as fields.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(resources: &str) -> String {
        format!(
            r#"{{"version": 4, "terraform_version": "1.5.7", "serial": 3, "lineage": "l", "outputs": {{}}, "resources": [{resources}]}}"#
        )
    }

    #[test]
    fn addresses_cover_modules_count_and_for_each_and_skip_data_sources() {
        let text = state(
            r#"{"mode": "data", "type": "aws_ami", "name": "ubuntu", "provider": "p", "instances": [{"attributes": {}}]},
               {"module": "module.a.module.b", "mode": "managed", "type": "aws_instance", "name": "web", "provider": "p",
                "instances": [{"index_key": 0, "attributes": {"id": "i-1"}}, {"index_key": 1, "attributes": {"id": "i-2"}}]},
               {"mode": "managed", "type": "aws_s3_bucket", "name": "b", "provider": "p",
                "instances": [{"index_key": "logs", "schema_version": 0, "attributes": {"id": "bucket-logs"}}]}"#,
        );
        let parsed = parse("t.tfstate", text.as_bytes()).unwrap();
        let addresses: Vec<&str> = parsed.resources.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(
            addresses,
            [
                "module.a.module.b.aws_instance.web[0]",
                "module.a.module.b.aws_instance.web[1]",
                "aws_s3_bucket.b[\"logs\"]"
            ]
        );
        assert_eq!(parsed.data_sources, 1);
        assert_eq!(parsed.resources[2].id().as_deref(), Some("bucket-logs"));
        assert_eq!(parsed.resources[0].index, Some(IndexKey::Int(0)));
    }

    #[test]
    fn bad_input_is_refused_with_its_place() {
        let cases: &[(&str, &str)] = &[
            ("", "t.tfstate: empty file, not a Terraform state"),
            (
                "{\"version\": 4,\n \"resources\": [",
                "t.tfstate:2:15: not a valid Terraform state: EOF while parsing a list",
            ),
            ("[1, 2]", "t.tfstate:1:1: (root): a Terraform state is a JSON object, found a list"),
            (
                r#"{"version": 3, "modules": []}"#,
                "t.tfstate: unsupported state format version 3; DriftGuard reads version 4 (Terraform 0.12 and later)",
            ),
            (
                r#"{"version": 4, "terraform_version": "0.11.14"}"#,
                "t.tfstate: terraform_version \"0.11.14\" cannot have written state format 4 (Terraform 0.12 or later did): the file is inconsistent",
            ),
            (
                r#"{"version": 4, "terraform_version": "latest"}"#,
                "t.tfstate: terraform_version \"latest\" is not a version (major.minor.patch)",
            ),
            (
                r#"{"version": 4, "terraform_version": "1.0.0", "resources": [{"mode": "managed", "name": "x"}]}"#,
                "t.tfstate:1:91: resources[0]: missing field `type`",
            ),
            (
                r#"{"version": 4, "terraform_version": "1.0.0", "resources": [{"mode": "managed", "type": "t", "name": "x", "instances": [{"index_key": [1]}]}]}"#,
                "t.tfstate:1:1: resources[0].instances[0].index_key: expected an integer or a string, found [1]",
            ),
            (
                "{\"version\": 4, \"terraform_version\": \"1.0.0\", \"resources\": [{\"mode\": \"managed\", \"type\": \"t\",\n \"name\": \"x\", \"instances\": [{\"attributes\": [1]}]}]}",
                "t.tfstate:2:44: resources[0].instances[0].attributes: expected an object of attributes",
            ),
            (
                "{\"version\": 4, \"terraform_version\": \"1.0.0\", \"resources\": [{\"mode\": \"data\", \"type\": \"t\", \"name\": \"d\"},\n {\"mode\": \"managed\", \"type\": \"t\", \"name\": \"x\", \"instances\": [{\"schema_version\": \"1\"}]}]}",
                "t.tfstate:2:83: resources[1].instances[0].schema_version: invalid type: string \"1\", expected u64",
            ),
            (
                r#"{"version": 4, "terraform_version": "1.0.0"} trailing"#,
                "t.tfstate:1:46: not a valid Terraform state: trailing characters",
            ),
        ];
        for (text, expected) in cases {
            let error = parse("t.tfstate", text.as_bytes()).unwrap_err();
            assert_eq!(error.to_string(), *expected, "{text}");
        }
        // "café" written in Latin-1: the byte after "caf" is not UTF-8.
        let text =
            state(r#"{"mode": "managed", "type": "t", "name": "x", "instances": [{"attributes": {"id": "cafX"}}]}"#);
        let at = text.find('X').unwrap();
        let mut latin1 = text.into_bytes();
        latin1[at] = 0xe9;
        let error = parse("t.tfstate", latin1).unwrap_err();
        let expected =
            format!("t.tfstate:1:{}: not a valid Terraform state: invalid UTF-8 (JSON text is UTF-8)", at + 1);
        assert_eq!(error.to_string(), expected);
    }

    #[test]
    fn old_flat_attributes_and_none_read_as_objects() {
        let text = state(
            r#"{"mode": "managed", "type": "t", "name": "flat", "instances": [{"attributes_flat": {"id": "f-1", "tags.%": "0"}}]},
               {"mode": "managed", "type": "t", "name": "none", "instances": [{"attributes": null}]}"#,
        );
        let parsed = parse("t.tfstate", text).unwrap();
        assert_eq!(parsed.resources[0].id().as_deref(), Some("f-1"));
        assert_eq!(parsed.resources[0].attributes.value(), serde_json::json!({"id": "f-1", "tags.%": "0"}));
        assert_eq!(parsed.resources[1].attributes.value(), serde_json::json!({}));
        assert_eq!(parsed.resources[1].id(), None);
    }

    use proptest::prelude::*;

    /// Any JSON value, with the strings that need escapes.
    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let text = "[a-z\"\\\\/\n\t\u{e9}\u{1F600}]{0,6}";
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            text.prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(text, inner, 0..4)
                    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The kept text reads back as the recorded tree, and the top-level texts are
        /// exactly its string members, whatever the nesting and escapes around them.
        #[test]
        fn recorded_attributes_read_back_as_written(
            objects in proptest::collection::vec(
                proptest::collection::btree_map("[a-z_\"]{1,6}", arb_json(), 0..6), 1..5),
            pretty in any::<bool>(),
        ) {
            let objects: Vec<serde_json::Value> =
                objects.into_iter().map(|map| serde_json::Value::Object(map.into_iter().collect())).collect();
            let instances: Vec<serde_json::Value> =
                objects.iter().map(|attributes| serde_json::json!({"attributes": attributes})).collect();
            let file = serde_json::json!({"version": 4, "terraform_version": "1.9.8", "resources": [
                {"mode": "managed", "type": "t", "name": "n", "instances": instances}]});
            let text = if pretty { serde_json::to_string_pretty(&file) } else { serde_json::to_string(&file) }.unwrap();
            let parsed = parse("p.tfstate", text).unwrap();
            prop_assert_eq!(parsed.resources.len(), objects.len());
            for (resource, object) in parsed.resources.iter().zip(&objects) {
                prop_assert_eq!(&resource.attributes.value(), object);
                let texts: Vec<(String, String)> = resource
                    .attributes
                    .texts()
                    .into_iter()
                    .map(|(key, value)| (key.into_owned(), value.into_owned()))
                    .collect();
                let expected: Vec<(String, String)> = object
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
                    .collect();
                prop_assert_eq!(texts, expected);
            }
        }
    }
}
