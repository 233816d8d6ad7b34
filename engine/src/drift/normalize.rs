//! One normal form for both sides. The helpers here are shared by the catalogue's
//! declared-side normalisers (`catalogue/aws.rs`, over Terraform state attributes) and by
//! the live collectors in the providers crate, so that the same value can only ever be
//! written one way.

use serde_json::{Map, Value};

use super::types::{Attributes, Normalized};

/// Null, `""`, `[]` and `{}` are one value (the provider treats them alike); everything
/// else is kept as is.
pub fn scalar(value: Value) -> Value {
    match &value {
        Value::String(text) if text.is_empty() => Value::Null,
        Value::Array(items) if items.is_empty() => Value::Null,
        Value::Object(map) if map.is_empty() => Value::Null,
        _ => value,
    }
}

/// A boolean that may be absent (absent means false, as in the providers).
pub fn boolean(value: Option<&Value>) -> Value {
    Value::Bool(value.and_then(Value::as_bool).unwrap_or(false))
}

/// A set of strings: sorted, deduplicated; empty is null.
pub fn string_set<I: IntoIterator<Item = String>>(items: I) -> Value {
    let mut items: Vec<String> = items.into_iter().filter(|item| !item.is_empty()).collect();
    items.sort_unstable();
    items.dedup();
    scalar(Value::Array(items.into_iter().map(Value::String).collect()))
}

/// Canonical protocol name: AWS and Terraform write both names and numbers.
pub fn protocol(text: &str) -> String {
    match text.to_ascii_lowercase().as_str() {
        "-1" | "all" => "-1".to_owned(),
        "6" | "tcp" => "tcp".to_owned(),
        "17" | "udp" => "udp".to_owned(),
        "1" | "icmp" => "icmp".to_owned(),
        "58" | "icmpv6" => "icmpv6".to_owned(),
        other => other.to_owned(),
    }
}

/// Where a rule lets traffic come from (ingress) or go to (egress).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSource {
    /// IPv4 CIDR.
    Cidr(String),
    /// IPv6 CIDR.
    Cidr6(String),
    /// Another security group.
    Group(String),
    /// The group itself.
    SelfGroup,
    /// A prefix list.
    PrefixList(String),
}

/// One rule atom: `tcp 22-22 from 0.0.0.0/0`, `-1 all from sg-123`. Atoms are what
/// findings and remediation talk about, so a rule with two CIDRs is two atoms.
pub fn rule_atom(protocol_name: &str, from_port: i64, to_port: i64, source: &RuleSource) -> String {
    let protocol_name = protocol(protocol_name);
    let ports = if protocol_name == "-1" { "all".to_owned() } else { format!("{from_port}-{to_port}") };
    let source = match source {
        RuleSource::Cidr(cidr) | RuleSource::Cidr6(cidr) => cidr.clone(),
        RuleSource::Group(group) => group.clone(),
        RuleSource::SelfGroup => "self".to_owned(),
        RuleSource::PrefixList(list) => list.clone(),
    };
    format!("{protocol_name} {ports} from {source}")
}

/// A rule atom taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleParts {
    /// Canonical protocol.
    pub protocol: String,
    /// Port range; `None` for all traffic.
    pub ports: Option<(i64, i64)>,
    /// Source or destination.
    pub source: RuleSource,
}

/// Parses a rule atom back (for remediation).
pub fn parse_rule_atom(atom: &str) -> Option<RuleParts> {
    let mut words = atom.split(' ');
    let protocol_name = words.next()?.to_owned();
    let ports = words.next()?;
    if words.next()? != "from" {
        return None;
    }
    let source = words.next()?;
    if words.next().is_some() {
        return None;
    }
    let ports = if ports == "all" {
        None
    } else {
        let (from, to) = ports.split_once('-')?;
        Some((from.parse().ok()?, to.parse().ok()?))
    };
    let source = if source == "self" {
        RuleSource::SelfGroup
    } else if source.starts_with("sg-") {
        RuleSource::Group(source.to_owned())
    } else if source.starts_with("pl-") {
        RuleSource::PrefixList(source.to_owned())
    } else if source.contains(':') {
        RuleSource::Cidr6(source.to_owned())
    } else {
        RuleSource::Cidr(source.to_owned())
    };
    Some(RuleParts { protocol: protocol_name, ports, source })
}

/// The atom of a standalone rule resource (`aws_vpc_security_group_ingress_rule` /
/// `_egress_rule`) in normal form, with its group: (group id, atom). Terraform records
/// such a rule twice: as its own resource and, after a refresh, inside its group's
/// `ingress`/`egress`; the catalogue's [`crate::catalogue::PartOf`] of both rule types is
/// made from this, so the diff compares it once, as the rule.
pub fn standalone_rule_atom(rule: &Normalized) -> Option<(String, String)> {
    let field = |key: &str| rule.attributes.get(key).and_then(Value::as_str).map(str::to_owned);
    let group = field("security_group_id")?;
    let source = if let Some(cidr) = field("cidr_ipv4") {
        RuleSource::Cidr(cidr)
    } else if let Some(cidr) = field("cidr_ipv6") {
        RuleSource::Cidr6(cidr)
    } else if let Some(other) = field("referenced_security_group_id") {
        if other == group { RuleSource::SelfGroup } else { RuleSource::Group(other) }
    } else {
        RuleSource::PrefixList(field("prefix_list_id")?)
    };
    let port = |key: &str| rule.attributes.get(key).and_then(Value::as_i64).unwrap_or(0);
    let atom = rule_atom(&field("ip_protocol")?, port("from_port"), port("to_port"), &source);
    Some((group, atom))
}

/// A policy document in canonical form: URL-decoded (IAM returns trust policies encoded),
/// parsed, single values and one-element lists made one form, order-insensitive lists
/// sorted. An unparsable document is kept as its text, so it still compares.
pub fn policy_document(text: &str) -> Value {
    let decoded = if text.trim_start().starts_with('%') { percent_decode(text) } else { text.to_owned() };
    match serde_json::from_str::<Value>(&decoded) {
        Ok(value) => canonical_policy(value),
        Err(_) => Value::String(decoded),
    }
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// Keys whose values IAM treats as sets.
const SET_KEYS: &[&str] =
    &["Action", "NotAction", "Resource", "NotResource", "AWS", "Service", "Federated", "CanonicalUser"];

fn canonical_policy(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, item) in map {
                let item = canonical_policy(item);
                let item =
                    if key == "Statement" || SET_KEYS.contains(&key.as_str()) { as_sorted_list(item) } else { item };
                out.insert(key, item);
            }
            // Condition operators hold key → value-or-list maps: values are sets too.
            if let Some(Value::Object(condition)) = out.get_mut("Condition") {
                for operator in condition.values_mut() {
                    if let Value::Object(keys) = operator {
                        for values in keys.values_mut() {
                            *values = as_sorted_list(values.take());
                        }
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical_policy).collect()),
        other => other,
    }
}

fn as_sorted_list(value: Value) -> Value {
    let mut items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    items.sort_by_key(ToString::to_string);
    items.dedup();
    Value::Array(items)
}

pub(crate) fn get<'a>(attributes: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut node = attributes;
    for key in path {
        node = match node {
            // Terraform writes nested blocks as single-element lists.
            Value::Array(items) => items.first()?.get(*key)?,
            other => other.get(*key)?,
        };
    }
    match node {
        Value::Array(items) if items.len() == 1 && !items[0].is_array() && items[0].is_object() => items.first(),
        other => Some(other),
    }
}

pub fn text(attributes: &Value, path: &[&str]) -> Value {
    scalar(get(attributes, path).cloned().unwrap_or(Value::Null))
}

pub fn number(attributes: &Value, path: &[&str]) -> Value {
    match get(attributes, path) {
        Some(Value::Number(number)) => Value::Number(number.clone()),
        Some(Value::String(text)) => text.parse::<i64>().map_or(Value::Null, Value::from),
        _ => Value::Null,
    }
}

/// Named policy documents (inline policies) as a map attribute's value: name to canonical
/// document; none is null. Both sides build it here.
pub fn policy_map<'a>(named: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    let map: Map<String, Value> = named
        .into_iter()
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, text)| (name.to_owned(), policy_document(text)))
        .collect();
    scalar(Value::Object(map))
}

/// Spreads a map attribute's value into `path.NAME` keys (the live side's half of what
/// `drift::declared` does with a [`crate::catalogue::Shape::Map`] attribute).
pub fn insert_map(out: &mut Attributes, path: &str, value: Value) {
    if let Value::Object(named) = value {
        out.extend(named.into_iter().map(|(name, value)| (format!("{path}.{name}"), value)));
    }
}

/// A number whose zero the provider writes for "not set" and the API leaves out.
pub fn zero_as_null(value: Value) -> Value {
    if value.as_i64() == Some(0) { Value::Null } else { value }
}

/// Adds `tags.K` entries: `tags_all` (which includes provider default tags, as the live
/// side does) when recorded, else `tags`.
pub fn insert_tags(out: &mut Attributes, tags: impl IntoIterator<Item = (String, String)>) {
    for (key, value) in tags {
        out.insert(format!("tags.{key}"), Value::String(value));
    }
}

pub(crate) fn declared_tags(attributes: &Value) -> Vec<(String, String)> {
    let tags = match attributes.get("tags_all") {
        Some(Value::Object(map)) if !map.is_empty() => map,
        _ => match attributes.get("tags") {
            Some(Value::Object(map)) => map,
            _ => return Vec::new(),
        },
    };
    tags.iter().map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned())).collect()
}

pub fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map_or_else(Vec::new, |items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
}

/// Terraform's inline `ingress`/`egress` blocks → atoms.
pub(crate) fn declared_rules(attributes: &Value, key: &str) -> Value {
    let mut atoms = Vec::new();
    for rule in attributes.get(key).and_then(Value::as_array).into_iter().flatten() {
        let protocol_name = rule.get("protocol").and_then(Value::as_str).unwrap_or("-1");
        let from = rule.get("from_port").and_then(Value::as_i64).unwrap_or(0);
        let to = rule.get("to_port").and_then(Value::as_i64).unwrap_or(0);
        let mut sources: Vec<RuleSource> = strings(rule.get("cidr_blocks")).into_iter().map(RuleSource::Cidr).collect();
        sources.extend(strings(rule.get("ipv6_cidr_blocks")).into_iter().map(RuleSource::Cidr6));
        sources.extend(strings(rule.get("security_groups")).into_iter().map(RuleSource::Group));
        sources.extend(strings(rule.get("prefix_list_ids")).into_iter().map(RuleSource::PrefixList));
        if rule.get("self").and_then(Value::as_bool) == Some(true) {
            sources.push(RuleSource::SelfGroup);
        }
        atoms.extend(sources.iter().map(|source| rule_atom(protocol_name, from, to, source)));
    }
    string_set(atoms)
}
