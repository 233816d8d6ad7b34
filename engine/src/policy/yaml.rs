//! YAML → figment value tree, with the position of every key and value.
//!
//! serde_yaml (and so figment's own `Yaml` provider) forgets positions once a document is
//! parsed and stops at the first duplicate key. The compiler needs both: a position for
//! every error and every duplicate key reported at once. So the file is read once, with
//! yaml-rust2's marked event parser, into the very value tree figment merges; the same
//! parse yields the source map, so positions can never disagree with values.

use std::collections::HashMap;

use figment::value::{Dict, Empty, Tag, Value};
use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::diag::{Position, Seg};

/// Where a node sits in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpan {
    /// The key's position, for mapping entries.
    pub key: Option<Position>,
    /// The value's position.
    pub value: Position,
}

/// Positions of every node, by path.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    /// Hashed with rustc-hash's Fx, not SipHash: every node's whole path is hashed once
    /// as it is read and again for each diagnostic, and the keys come from the operator's
    /// own policy file, with nothing to gain by flooding it (SipHash cost 6% of the
    /// instructions `driftguard validate` runs).
    spans: rustc_hash::FxHashMap<Vec<Seg>, NodeSpan>,
}

impl SourceMap {
    /// The span of exactly this path.
    pub fn get(&self, path: &[Seg]) -> Option<NodeSpan> {
        self.spans.get(path).copied()
    }

    /// The span of this path or, when absent (a missing key), of its nearest ancestor.
    pub fn nearest(&self, path: &[Seg]) -> Option<(usize, NodeSpan)> {
        (0..=path.len()).rev().find_map(|len| self.spans.get(&path[..len]).map(|span| (len, *span)))
    }
}

/// A structural problem found while reading (syntax, duplicate keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlProblem {
    /// Where.
    pub position: Position,
    /// The path of the node, as far as known.
    pub path: Vec<Seg>,
    /// What.
    pub message: String,
}

/// The result of reading a policy file.
#[derive(Debug)]
pub struct ReadYaml {
    /// The document as a figment value (a `Dict` for a well-formed policy).
    pub value: Option<Value>,
    /// Positions.
    pub source_map: SourceMap,
    /// Duplicate keys and other problems that did not stop the read.
    pub problems: Vec<YamlProblem>,
}

fn position(marker: Marker) -> Position {
    Position { line: marker.line(), column: marker.col() + 1 }
}

enum Frame {
    Map {
        dict: Dict,
        path: Vec<Seg>,
        key: Option<(String, Marker)>,
        seen: HashMap<String, Position>,
        anchor: usize,
    },
    Seq {
        items: Vec<Value>,
        path: Vec<Seg>,
        anchor: usize,
    },
    /// A subtree being skipped (a duplicate key's value or a complex key); depth counts nesting.
    Skip {
        depth: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    documents: usize,
    anchors: HashMap<usize, Value>,
    source_map: SourceMap,
    problems: Vec<YamlProblem>,
}

impl Builder {
    /// The path and key position the next value node gets, or `None` when the next
    /// scalar is a mapping key rather than a value.
    fn next_slot(&self) -> Option<(Vec<Seg>, Option<Position>)> {
        match self.stack.last() {
            None | Some(Frame::Skip { .. }) => Some((Vec::new(), None)),
            Some(Frame::Map { path, key: Some((key, marker)), .. }) => {
                let mut child = path.clone();
                child.push(Seg::Key(key.clone()));
                Some((child, Some(position(*marker))))
            }
            Some(Frame::Map { key: None, .. }) => None,
            Some(Frame::Seq { path, items, .. }) => {
                let mut child = path.clone();
                child.push(Seg::Index(items.len()));
                Some((child, None))
            }
        }
    }

    fn attach(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(value);
                }
            }
            Some(Frame::Map { dict, key, .. }) => {
                if let Some((key, _)) = key.take() {
                    dict.insert(key, value);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Skip { .. }) => {}
        }
    }

    fn remember(&mut self, anchor: usize, value: &Value) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
    }

    fn skipping(&mut self) -> bool {
        if let Some(Frame::Skip { depth }) = self.stack.last_mut() {
            *depth += 1;
            true
        } else {
            false
        }
    }
}

fn scalar_value(text: &str, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::from(text.to_owned());
    }
    // yaml-rust2 resolves plain scalars by the YAML 1.2 core schema.
    match Yaml::from_str(text) {
        Yaml::Integer(number) => Value::from(number),
        Yaml::Real(_) => text.parse::<f64>().map_or_else(|_| Value::from(text.to_owned()), Value::from),
        Yaml::Boolean(flag) => Value::from(flag),
        Yaml::Null => Value::Empty(Tag::Default, Empty::None),
        _ => Value::from(text.to_owned()),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents == 2 {
                    self.problems.push(YamlProblem {
                        position: position(marker),
                        path: Vec::new(),
                        message: "a policy is one YAML document; found a second one".to_owned(),
                    });
                }
                if self.documents > 1 {
                    self.stack.push(Frame::Skip { depth: 0 });
                }
            }
            Event::DocumentEnd => {
                if self.documents > 1 {
                    self.stack.pop();
                }
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if self.skipping() {
                    return;
                }
                let is_map = matches!(event, Event::MappingStart(..));
                let Some((path, key)) = self.next_slot() else {
                    self.problems.push(YamlProblem {
                        position: position(marker),
                        path: self.current_path(),
                        message: "mapping keys must be plain strings, not lists or mappings".to_owned(),
                    });
                    self.stack.push(Frame::Skip { depth: 1 });
                    return;
                };
                self.source_map.spans.insert(path.clone(), NodeSpan { key, value: position(marker) });
                self.stack.push(if is_map {
                    Frame::Map { dict: Dict::new(), path, key: None, seen: HashMap::new(), anchor }
                } else {
                    Frame::Seq { items: Vec::new(), path, anchor }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(Frame::Skip { depth }) = self.stack.last_mut() {
                    if *depth > 1 {
                        *depth -= 1;
                        return;
                    }
                    if *depth == 1 {
                        self.stack.pop();
                        // The skipped subtree was a value: release the parent's pending key.
                        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                            key.take();
                        }
                        return;
                    }
                }
                let value = match self.stack.pop() {
                    Some(Frame::Map { dict, anchor, .. }) => {
                        let value = Value::from(dict);
                        self.remember(anchor, &value);
                        value
                    }
                    Some(Frame::Seq { items, anchor, .. }) => {
                        let value = Value::from(items);
                        self.remember(anchor, &value);
                        value
                    }
                    Some(skip @ Frame::Skip { .. }) => {
                        self.stack.push(skip);
                        return;
                    }
                    None => return,
                };
                self.attach(value);
            }
            Event::Scalar(text, style, anchor, _) => {
                if matches!(self.stack.last(), Some(Frame::Skip { .. })) {
                    if let Some(Frame::Skip { depth: 0 }) = self.stack.last() {
                        // A skipped scalar value (duplicate key with a scalar value).
                        self.stack.pop();
                        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                            key.take();
                        }
                    }
                    return;
                }
                if let Some(Frame::Map { key: slot @ None, seen, path, .. }) = self.stack.last_mut() {
                    let here = position(marker);
                    if let Some(first) = seen.get(&text) {
                        let mut dup_path = path.clone();
                        dup_path.push(Seg::Key(text.clone()));
                        self.problems.push(YamlProblem {
                            position: here,
                            path: dup_path,
                            message: format!("duplicate key {text:?} (first defined at line {})", first.line),
                        });
                        // Keep the first definition; skip this key's value.
                        *slot = Some((text, marker));
                        self.stack.push(Frame::Skip { depth: 0 });
                    } else {
                        // A block mapping's start marker sits at its first key's colon;
                        // people expect the mapping to be where its first key is.
                        if seen.is_empty()
                            && let Some(span) = self.source_map.spans.get_mut(path.as_slice())
                            && span.value > here
                        {
                            span.value = here;
                        }
                        seen.insert(text.clone(), here);
                        *slot = Some((text, marker));
                    }
                    return;
                }
                let Some((path, key)) = self.next_slot() else { return };
                self.source_map.spans.insert(path, NodeSpan { key, value: position(marker) });
                let value = scalar_value(&text, style);
                self.remember(anchor, &value);
                self.attach(value);
            }
            Event::Alias(anchor) => {
                if matches!(self.stack.last(), Some(Frame::Skip { .. })) {
                    if let Some(Frame::Skip { depth: 0 }) = self.stack.last() {
                        self.stack.pop();
                        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                            key.take();
                        }
                    }
                    return;
                }
                if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
                    self.problems.push(YamlProblem {
                        position: position(marker),
                        path: self.current_path(),
                        message: "an alias cannot be used as a mapping key".to_owned(),
                    });
                    return;
                }
                let Some((path, key)) = self.next_slot() else { return };
                self.source_map.spans.insert(path, NodeSpan { key, value: position(marker) });
                let value = self.anchors.get(&anchor).cloned().unwrap_or(Value::Empty(Tag::Default, Empty::None));
                self.attach(value);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
        }
    }
}

/// The first tab in a line's indentation, from the line before `near` on (1-based), else
/// anywhere: where a tab-indentation error really is.
fn tab_indentation(text: &str, near: usize) -> Option<Position> {
    let tabs = text.lines().enumerate().filter_map(|(index, line)| {
        let indentation = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
        let column = indentation.chars().position(|c| c == '\t')?;
        Some(Position { line: index + 1, column: column + 1 })
    });
    let all: Vec<Position> = tabs.collect();
    all.iter().find(|p| p.line + 1 >= near).or_else(|| all.first()).copied()
}

impl Builder {
    fn current_path(&self) -> Vec<Seg> {
        self.stack
            .iter()
            .rev()
            .find_map(|frame| match frame {
                Frame::Map { path, .. } | Frame::Seq { path, .. } => Some(path.clone()),
                Frame::Skip { .. } => None,
            })
            .unwrap_or_default()
    }
}

/// Reads a YAML document. A syntax error is returned as the only problem with no value.
pub fn read(text: &str) -> ReadYaml {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(error) = parser.load(&mut builder, true) {
        let mut problems = builder.problems;
        let at = position(*error.marker());
        let problem = if error.info().contains("tab") {
            // The scanner reports a tab where it noticed it, often the end of the line
            // before; people need the tab itself.
            tab_indentation(text, at.line).map(|position| YamlProblem {
                position,
                path: Vec::new(),
                message: "tabs are not allowed for indentation".to_owned(),
            })
        } else {
            None
        };
        problems.push(problem.unwrap_or_else(|| YamlProblem {
            position: at,
            path: Vec::new(),
            message: format!("YAML syntax error: {}", error.info()),
        }));
        return ReadYaml { value: None, source_map: builder.source_map, problems };
    }
    ReadYaml { value: builder.root, source_map: builder.source_map, problems: builder.problems }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Seg {
        Seg::Key(name.to_owned())
    }

    #[test]
    fn positions_are_one_based_and_point_at_keys_and_values() {
        let read = read("a: 1\nlist:\n  - x\n  - {b: true}\n");
        assert!(read.problems.is_empty());
        let a = read.source_map.get(&[key("a")]).unwrap();
        assert_eq!(a.key, Some(Position { line: 1, column: 1 }));
        assert_eq!(a.value, Position { line: 1, column: 4 });
        let second = read.source_map.get(&[key("list"), Seg::Index(1), key("b")]).unwrap();
        assert_eq!(second.value, Position { line: 4, column: 9 });
    }

    #[test]
    fn duplicate_keys_are_all_reported_and_the_first_value_kept() {
        let read = read("a: 1\nb: {c: 1, c: 2}\na: [3]\n");
        let messages: Vec<_> = read.problems.iter().map(|p| (p.position.line, p.message.clone())).collect();
        assert_eq!(
            messages,
            vec![
                (2, "duplicate key \"c\" (first defined at line 2)".to_owned()),
                (3, "duplicate key \"a\" (first defined at line 1)".to_owned())
            ]
        );
        let value = read.value.unwrap();
        assert_eq!(value.find_ref("a").and_then(Value::to_i128), Some(1));
        assert_eq!(value.find_ref("b.c").and_then(Value::to_i128), Some(1));
    }

    #[test]
    fn scalars_resolve_by_the_core_schema_and_quotes_keep_strings() {
        let read = read("n: 42\nq: \"42\"\nt: true\nz: ~\ns: 24h\n");
        let value = read.value.unwrap();
        assert_eq!(value.find_ref("n").and_then(Value::to_i128), Some(42));
        assert_eq!(value.find_ref("q").and_then(Value::as_str), Some("42"));
        assert_eq!(value.find_ref("t").and_then(Value::to_bool), Some(true));
        assert!(matches!(value.find_ref("z"), Some(Value::Empty(..))));
        assert_eq!(value.find_ref("s").and_then(Value::as_str), Some("24h"));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let read = read("a: [1, 2\nb: 3\n");
        assert!(read.value.is_none());
        assert_eq!(read.problems.len(), 1);
        assert!(read.problems[0].message.starts_with("YAML syntax error: "), "{:?}", read.problems);
    }

    #[test]
    fn anchors_and_aliases_are_expanded() {
        let read = read("base: &b {x: 1}\ncopy: *b\n");
        let value = read.value.unwrap();
        assert_eq!(value.find_ref("copy.x").and_then(Value::to_i128), Some(1));
    }
}
