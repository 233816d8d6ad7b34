//! The policy compiler: text → [`Policy`], or every mistake at once.
//!
//! Stages, each collecting rather than stopping (Vector's config compiler is the model):
//! 1. read the YAML with positions (syntax errors, duplicate keys);
//! 2. merge layers with figment: the file, then `DRIFTGUARD_…` variables, then CLI flags;
//! 3. deserialise into [`PolicyFile`]; on an error, record it, cut the offending node out
//!    of the tree and try again, so unknown keys and wrong types are all reported;
//! 4. field checks with garde; 5. cross-field (semantic) checks;
//! 6. build the validated [`Policy`] with the same parsers the checks used.
//!
//! Every error is mapped back to the original position of the key or value it concerns.

use std::collections::{BTreeSet, HashMap, HashSet};

use figment::Figment;
use figment::error::{Actual, Kind};
use figment::providers::{Env, Serialized};
use figment::value::Value;
use garde::Validate;

use super::build::build;
use super::compiled::Policy;
use super::diag::{Diagnostic, Diagnostics, Position, Seg, did_you_mean, render_path};
use super::raw::PolicyFile;
use super::semantic;
use super::yaml;

/// Prefix of the environment variables that override policy keys.
pub const ENV_PREFIX: &str = "DRIFTGUARD_";
/// Separator of nesting levels in those variables: `DRIFTGUARD_RETRY__MAX_DELAY=5s`
/// sets `retry.max_delay`. A single `_` stays part of the key name.
pub const ENV_SEPARATOR: &str = "__";
/// `DRIFTGUARD_…` variables that configure the command line, not the policy.
const CLI_VARIABLES: &[&str] = &["policy", "log_format", "log"];

/// The environment layer as the daemon uses it.
pub fn env_provider() -> Env {
    Env::prefixed(ENV_PREFIX).split(ENV_SEPARATOR).ignore(CLI_VARIABLES)
}

/// Values from command-line flags: the last, strongest layer.
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    /// `--dry-run`: forces simulation whatever the file and the environment say.
    pub force_dry_run: bool,
}

/// Compiles a policy. `file` names the source in diagnostics; `env` is the environment
/// layer (normally [`env_provider`]; `None` leaves the environment out).
pub fn compile(file: &str, text: &str, env: Option<&Env>, overrides: &CliOverrides) -> Result<Policy, Diagnostics> {
    let mut collector = Collector::new(file, env);

    let read = yaml::read(text);
    for problem in &read.problems {
        collector.push_at(problem.position, &problem.path, problem.message.clone());
    }
    collector.source_map = read.source_map;
    let root = match read.value {
        Some(Value::Dict(_, dict)) => dict,
        Some(Value::Empty(..)) | None if collector.diagnostics.is_empty() => {
            collector.push_at(Position { line: 1, column: 1 }, &[], "the policy file is empty".to_owned());
            return Err(collector.finish());
        }
        Some(other) if collector.diagnostics.is_empty() => {
            collector.push_at(
                Position { line: 1, column: 1 },
                &[],
                format!("a policy is a mapping of sections (dry_run, flows, …), found {}", value_kind(&other)),
            );
            return Err(collector.finish());
        }
        _ => return Err(collector.finish()),
    };

    let layers = env.filter(|_| !collector.env_paths.is_empty());
    let mut tree: Value = if layers.is_none() && !overrides.force_dry_run {
        // Nothing to merge over the file: its tree is the merged tree (as
        // `merging_nothing_gives_the_file_back` checks), without figment's copy of it in and
        // out (a fifth of what `driftguard validate` computed).
        Value::from(root)
    } else {
        match merged(root, layers, overrides) {
            Ok(tree) => tree,
            Err(error) => {
                collector.push_at(
                    Position { line: 1, column: 1 },
                    &[],
                    format!("cannot merge the policy layers: {error}"),
                );
                return Err(collector.finish());
            }
        }
    };

    let Some(raw) = collector.deserialize(&mut tree) else {
        return Err(collector.finish());
    };

    if let Err(report) = raw.validate() {
        for (path, error) in report.iter() {
            let segs = garde_path(path);
            collector.push_current(&segs, false, garde_message(error.message()));
        }
    }
    let poisoned = |current: &[Seg]| collector.is_poisoned(current);
    let problems = semantic::check(&raw, &poisoned);
    for (segs, message) in problems {
        collector.push_current(&segs, false, message);
    }

    if !collector.diagnostics.is_empty() {
        return Err(collector.finish());
    }
    build(file, text, &raw).map_err(|problems| {
        for (segs, message) in problems {
            collector.push_current(&segs, false, message);
        }
        collector.finish()
    })
}

/// The file's tree with the environment's variables, then the command line's flags,
/// merged over it.
fn merged(root: figment::value::Dict, env: Option<&Env>, overrides: &CliOverrides) -> Result<Value, String> {
    let mut figment = Figment::new().merge(Serialized::defaults(root));
    if let Some(env) = env {
        figment = figment.merge(env.clone());
    }
    if overrides.force_dry_run {
        figment = figment.merge(Serialized::default("dry_run", true));
    }
    figment.extract().map_err(|error| error.to_string())
}

struct Collector<'a> {
    file: &'a str,
    source_map: yaml::SourceMap,
    /// Policy paths set by environment variables, with the variable's name.
    env_paths: Vec<(Vec<Seg>, String)>,
    diagnostics: Vec<Diagnostic>,
    /// Paths (original coordinates) already reported as structurally wrong: later errors
    /// at or below them are consequences, not news.
    reported: Vec<Vec<Seg>>,
    /// Sequence elements cut out of the tree, by the sequence's original path, so that
    /// indices in later errors can be mapped back to the file.
    removed: HashMap<Vec<Seg>, BTreeSet<usize>>,
}

impl<'a> Collector<'a> {
    fn new(file: &'a str, env: Option<&Env>) -> Self {
        let env_paths = env
            .map(|env| {
                env.iter()
                    .map(|(key, _)| {
                        let key = key.as_str().to_ascii_lowercase();
                        let segs = key.split('.').map(|part| Seg::Key(part.to_owned())).collect();
                        let variable = format!("{ENV_PREFIX}{}", key.replace('.', ENV_SEPARATOR).to_ascii_uppercase());
                        (segs, variable)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            file,
            source_map: yaml::SourceMap::default(),
            env_paths,
            diagnostics: Vec::new(),
            reported: Vec::new(),
            removed: HashMap::new(),
        }
    }

    fn push_at(&mut self, position: Position, path: &[Seg], message: String) {
        self.diagnostics.push(Diagnostic {
            file: self.file.to_owned(),
            line: position.line,
            column: position.column,
            path: render_path(path),
            message,
        });
    }

    /// Records an error at a path in the current (possibly trimmed) tree.
    fn push_current(&mut self, current: &[Seg], at_key: bool, message: String) {
        let original = self.to_original(current);
        if self.reported.iter().any(|done| original.starts_with(done)) {
            return;
        }
        self.push_original(&original, at_key, message);
    }

    fn push_original(&mut self, original: &[Seg], at_key: bool, message: String) {
        // A value set by a variable, or a node that exists only because a variable made it.
        let in_file = self.source_map.get(original).is_some();
        let from_env = self
            .env_paths
            .iter()
            .find(|(path, _)| original.starts_with(path) || (!in_file && path.starts_with(original)));
        if let Some((_, variable)) = from_env {
            let file = format!("${variable}");
            self.diagnostics.push(Diagnostic { file, line: 1, column: 1, path: render_path(original), message });
            return;
        }
        let position = match self.source_map.nearest(original) {
            Some((len, span)) if len == original.len() && at_key => span.key.unwrap_or(span.value),
            Some((len, span)) if len == original.len() => span.value,
            // A key that is absent: point at its parent's key, where it should be added.
            Some((_, span)) => span.key.unwrap_or(span.value),
            None => Position { line: 1, column: 1 },
        };
        self.push_at(position, original, message);
    }

    /// Whether a path (current coordinates) lies in a list element that lost a part when
    /// the tree was trimmed: cross-field checks on it would report consequences, not news.
    fn is_poisoned(&self, current: &[Seg]) -> bool {
        let original = self.to_original(current);
        self.reported.iter().any(|done| {
            let element = done.iter().position(|seg| matches!(seg, Seg::Index(_))).map_or(done.len(), |i| i + 1);
            original.starts_with(&done[..element])
        })
    }

    fn to_original(&self, current: &[Seg]) -> Vec<Seg> {
        let mut original = Vec::with_capacity(current.len());
        for seg in current {
            match seg {
                Seg::Key(_) => original.push(seg.clone()),
                Seg::Index(index) => {
                    let mapped = match self.removed.get(&original) {
                        Some(removed) => (0..).filter(|i| !removed.contains(i)).nth(*index).unwrap_or(*index),
                        None => *index,
                    };
                    original.push(Seg::Index(mapped));
                }
            }
        }
        original
    }

    /// Deserialises, cutting out each offending node until the rest is well-typed.
    fn deserialize(&mut self, tree: &mut Value) -> Option<PolicyFile> {
        // Each round removes one node, so the loop ends; the bound guards against a bug.
        for _ in 0..1_000 {
            let error = match serde_path_to_error::deserialize::<_, PolicyFile>(&*tree) {
                Ok(raw) => return Some(raw),
                Err(error) => error,
            };
            let mut current: Vec<Seg> = error
                .path()
                .iter()
                .filter_map(|segment| match segment {
                    serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                    serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                    serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => None,
                })
                .collect();
            let inner = error.into_inner();
            let at_key = if let Kind::UnknownField(name, _) = &inner.kind {
                if current.last() != Some(&Seg::Key(name.clone())) {
                    current.push(Seg::Key(name.clone()));
                }
                true
            } else {
                false
            };
            let original = self.to_original(&current);
            let already = self.reported.iter().any(|done| original.starts_with(done));
            if !already {
                self.push_original(&original, at_key, serde_message(&inner.kind));
                self.reported.push(original.clone());
            }
            if !self.cut(tree, &current, &original) {
                // No progress possible: report what we have.
                return None;
            }
        }
        None
    }

    fn cut(&mut self, tree: &mut Value, current: &[Seg], original: &[Seg]) -> bool {
        let Some((last, parent)) = current.split_last() else { return false };
        let Some(container) = navigate(tree, parent) else { return false };
        match (container, last) {
            (Value::Dict(_, dict), Seg::Key(key)) => dict.remove(key).is_some(),
            (Value::Array(_, items), Seg::Index(index)) if *index < items.len() => {
                items.remove(*index);
                if let Some(Seg::Index(original_index)) = original.last() {
                    self.removed.entry(original[..original.len() - 1].to_vec()).or_default().insert(*original_index);
                }
                true
            }
            _ => false,
        }
    }

    fn finish(mut self) -> Diagnostics {
        self.diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        let mut seen = HashSet::new();
        self.diagnostics.retain(|d| seen.insert(d.to_string()));
        Diagnostics(self.diagnostics)
    }
}

fn navigate<'v>(value: &'v mut Value, path: &[Seg]) -> Option<&'v mut Value> {
    let mut node = value;
    for seg in path {
        node = match (node, seg) {
            (Value::Dict(_, dict), Seg::Key(key)) => dict.get_mut(key)?,
            (Value::Array(_, items), Seg::Index(index)) => items.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(node)
}

fn garde_path(path: &garde::Path) -> Vec<Seg> {
    path.__iter()
        .rev()
        .filter_map(|(kind, component)| match kind {
            // garde names fields as Rust does; the one renamed field is `match`.
            garde::error::Kind::Key if component == "matcher" => Some(Seg::Key("match".to_owned())),
            garde::error::Kind::Key => Some(Seg::Key(component.to_string())),
            garde::error::Kind::Index => component.parse().ok().map(Seg::Index),
            garde::error::Kind::None => None,
        })
        .collect()
}

/// garde's built-in messages are terse; say what a reader must do.
fn garde_message(message: &str) -> String {
    match message {
        "not set" => "missing required key".to_owned(),
        "length is lower than 1" => "must not be empty".to_owned(),
        other => {
            if let Some(least) = other.strip_prefix("length is lower than ") {
                return format!("must be at least {least} characters long");
            }
            if let Some(most) = other.strip_prefix("length is greater than ") {
                return format!("must be at most {most} characters long");
            }
            if let Some(pattern) = other.strip_prefix("does not match pattern ") {
                let pattern = pattern.trim_matches('/');
                let hint = super::checks::Format::hint_of(pattern).unwrap_or("the documented format");
                format!("must be {hint} (pattern {pattern})")
            } else {
                other.to_owned()
            }
        }
    }
}

fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::String(..) | Value::Char(..) => "a string",
        Value::Bool(..) => "a boolean",
        Value::Num(..) => "a number",
        Value::Empty(..) => "nothing",
        Value::Dict(..) => "a mapping",
        Value::Array(..) => "a list",
    }
}

fn actual(actual: &Actual) -> String {
    match actual {
        Actual::Bool(flag) => format!("boolean {flag}"),
        Actual::Unsigned(number) => format!("number {number}"),
        Actual::Signed(number) => format!("number {number}"),
        Actual::Float(number) => format!("number {number}"),
        Actual::Char(c) => format!("string {:?}", c.to_string()),
        Actual::Str(text) => format!("string {text:?}"),
        Actual::Unit | Actual::Option => "nothing (null)".to_owned(),
        Actual::Seq => "a list".to_owned(),
        Actual::Map => "a mapping".to_owned(),
        other => other.to_string(),
    }
}

fn expected(expected: &str) -> String {
    match expected {
        "a sequence" => "a list".to_owned(),
        "a map" => "a mapping".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a string" => "a string".to_owned(),
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_owned(),
        other if other.starts_with("struct ") => "a mapping".to_owned(),
        other if other.starts_with("enum ") => "one of the listed words".to_owned(),
        other => other.to_owned(),
    }
}

/// The noun for an enum, recognised by its variants, so messages say "unknown severity".
fn enum_noun(variants: &[&str]) -> &'static str {
    let has = |name: &str| variants.contains(&name);
    if has("critical") {
        "severity"
    } else if has("aws") {
        "provider"
    } else if has("remediate") {
        "step"
    } else if has("unmanaged") {
        "finding kind"
    } else if has("aws_s3_bucket") {
        "janitor target"
    } else if has("iac") {
        "janitor phase"
    } else if has("s3") {
        "state backend"
    } else if has("warn") {
        "log level"
    } else if has("json") {
        "log format"
    } else {
        "value"
    }
}

fn serde_message(kind: &Kind) -> String {
    match kind {
        Kind::UnknownField(name, known) => match did_you_mean(name, known.iter().copied()) {
            Some(suggestion) => format!("unknown key {name:?}; did you mean {suggestion:?}?"),
            None => format!("unknown key {name:?}; known keys here: {}", known.join(", ")),
        },
        Kind::UnknownVariant(name, known) => {
            let noun = enum_noun(known);
            match did_you_mean(name, known.iter().copied()) {
                Some(suggestion) => format!("unknown {noun} {name:?}; did you mean {suggestion:?}?"),
                None => format!("unknown {noun} {name:?}; expected one of: {}", known.join(", ")),
            }
        }
        Kind::InvalidType(found, wanted) => format!("expected {}, found {}", expected(wanted), actual(found)),
        Kind::InvalidValue(found, wanted) => format!("invalid value {}: expected {}", actual(found), expected(wanted)),
        Kind::InvalidLength(length, wanted) => format!("invalid length {length}: expected {wanted}"),
        Kind::MissingField(name) => format!("missing required key {name:?}"),
        Kind::DuplicateField(name) => format!("duplicate key {name:?}"),
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => "number out of range".to_owned(),
        Kind::Message(message) => message.clone(),
        Kind::Unsupported(found) => format!("unsupported value {}", actual(found)),
        Kind::UnsupportedKey(found, wanted) => format!("unsupported key {}: expected {wanted}", actual(found)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `compile` relies on when no variable and no flag is set: figment's merge of
    /// the file alone is the file's tree, for every shipped policy.
    #[test]
    fn merging_nothing_gives_the_file_back() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = vec![root.join("policy.yaml")];
        for entry in std::fs::read_dir(root.join("examples")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|extension| extension == "yaml") {
                files.push(path);
            }
        }
        assert!(files.len() > 1, "the shipped policies: {files:?}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let Some(Value::Dict(_, dict)) = yaml::read(&text).value else {
                panic!("{} is not a mapping", file.display());
            };
            let through_figment = merged(dict.clone(), None, &CliOverrides::default()).unwrap();
            assert_eq!(through_figment, Value::from(dict), "{}", file.display());
        }
    }
}
