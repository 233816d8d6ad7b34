//! Terraform state (format version 4) → the resources it manages. Pure: bytes in,
//! resources or an error naming the place out. Reading files, globs and the S3 backend
//! is the adapters' job.

use std::fmt;

use serde::Deserialize;

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
    pub attributes: serde_json::Value,
}

impl StateResource {
    /// The cloud id (`id` attribute), when recorded.
    pub fn id(&self) -> Option<&str> {
        self.attributes.get("id").and_then(serde_json::Value::as_str)
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
struct RawState {
    version: serde_json::Value,
    #[serde(default)]
    terraform_version: Option<String>,
    #[serde(default)]
    serial: u64,
    #[serde(default)]
    lineage: String,
    #[serde(default)]
    resources: Vec<RawResource>,
}

#[derive(Deserialize)]
struct RawResource {
    #[serde(default)]
    module: Option<String>,
    mode: String,
    #[serde(rename = "type")]
    resource_type: String,
    name: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    instances: Vec<RawInstance>,
}

#[derive(Deserialize)]
struct RawInstance {
    #[serde(default)]
    index_key: Option<serde_json::Value>,
    #[serde(default)]
    schema_version: u64,
    #[serde(default)]
    attributes: Option<serde_json::Value>,
    #[serde(default)]
    attributes_flat: Option<serde_json::Map<String, serde_json::Value>>,
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

/// Parses a state file's bytes. `source` names it in every error.
pub fn parse(source: &str, bytes: &[u8]) -> Result<StateFile, StateError> {
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
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let raw: RawState = match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(raw) => raw,
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            let (line, column) = (inner.line().max(1), inner.column().max(1));
            return Err(if inner.is_data() {
                StateError::Shape {
                    file: source.to_owned(),
                    line,
                    column,
                    path,
                    message: strip_position(&inner.to_string()),
                }
            } else {
                StateError::Json { file: source.to_owned(), line, column, message: strip_position(&inner.to_string()) }
            });
        }
    };
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
    let mut resources = Vec::new();
    let mut data_sources = 0;
    for (resource_index, resource) in raw.resources.into_iter().enumerate() {
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
                (Some(attributes), _) => attributes,
                (None, Some(flat)) => serde_json::Value::Object(flat),
                (None, None) => serde_json::Value::Object(serde_json::Map::new()),
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
                module: module.clone(),
                resource_type: resource.resource_type.clone(),
                name: resource.name.clone(),
                provider: resource.provider.clone(),
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
        assert_eq!(parsed.resources[2].id(), Some("bucket-logs"));
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
                r#"{"version": 4, "terraform_version": "1.0.0"} trailing"#,
                "t.tfstate:1:46: not a valid Terraform state: trailing characters",
            ),
        ];
        for (text, expected) in cases {
            let error = parse("t.tfstate", text.as_bytes()).unwrap_err();
            assert_eq!(error.to_string(), *expected, "{text}");
        }
    }
}
