//! A YAML tree that remembers where every scalar stood in the file.
//!
//! Rule files are validated by walking this tree, so that every error — a
//! wrong type, an unknown key, a bad range, an undefined variable, a
//! duplicate id — names the file, line and column of the value at fault,
//! and so that one broken rule does not hide the errors of the next.
//!
//! `serde_yaml` (0.9, the final release of that crate) records positions
//! only inside its errors: a `Deserialize` implementation never sees a
//! position. Its deserializer works over a pre-parsed event list and
//! consumes a scalar's event *before* handing the scalar to the visitor.
//! So the visitor used here stores each scalar in a side slot and answers
//! with a marker error; serde_yaml attaches the scalar's position to that
//! error on its way out; the caller (the enclosing mapping or sequence
//! visitor, which is ours too) catches it, reads the position from the
//! error and carries on — the event stream is already past the scalar, so
//! nothing is out of step. Mappings and sequences take the position of
//! their first entry (or, when empty, of the key that holds them).
//!
//! Inside a nested visitor the error type is generic, so the position is
//! read from its `Debug` text (`Error("…", line: L, column: C)`); the tests
//! at the end of this file pin that format. Anchors and aliases work (an
//! alias reports the position of its anchor), `<<` merge keys are applied,
//! YAML tags are refused with a hint (a value starting with `!` must be
//! quoted), and the tree is capped at [`MAX_NODES`] nodes so that alias
//! bombs fail cleanly.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Most nodes one source may expand to (aliases included).
pub(crate) const MAX_NODES: usize = 1_000_000;

/// The marker message of a scalar probe. Starts with a control character no
/// real serde_yaml message contains.
const PROBE: &str = "\u{1}scalar";

/// 1-based position in the source text; `line == 0` means unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Loc {
    pub line: u32,
    pub col: u32,
}

impl Loc {
    pub const UNKNOWN: Loc = Loc { line: 0, col: 0 };

    pub fn or(self, other: Loc) -> Loc {
        if self.line == 0 {
            other
        } else {
            self
        }
    }
}

/// One YAML node with its position.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub loc: Loc,
    pub val: Val,
}

/// A YAML value, resolved the way serde_yaml resolves plain scalars
/// (YAML 1.2 core schema: `0x1F` is an integer, `yes` is a string).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Val {
    /// How the value is called in error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Val::Null => "nothing (null)",
            Val::Bool(_) => "a boolean",
            Val::Int(_) => "an integer",
            Val::Float(_) => "a number",
            Val::Str(_) => "a string",
            Val::Seq(_) => "a list",
            Val::Map(_) => "a mapping",
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Null => f.write_str("null"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Int(i) => write!(f, "{i}"),
            Val::Float(x) => write!(f, "{x}"),
            Val::Str(s) => write!(f, "{s:?}"),
            Val::Seq(_) => f.write_str("[…]"),
            Val::Map(_) => f.write_str("{…}"),
        }
    }
}

/// A syntax or structure error of the YAML text itself.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct YamlError {
    pub loc: Loc,
    pub message: String,
}

/// Parse every document of `text`. An empty text (or an empty document)
/// gives a `Null` node.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut docs = Vec::new();
    let mut st = State {
        slot: None,
        nodes_left: MAX_NODES,
    };
    for doc in serde_yaml::Deserializer::from_str(text) {
        match (NodeSeed { st: &mut st }).deserialize(doc) {
            Ok(node) => docs.push(node),
            Err(e) => {
                let loc = e
                    .location()
                    .map(|l| Loc {
                        line: to_u32(l.line()),
                        col: to_u32(l.column()),
                    })
                    .unwrap_or(Loc::UNKNOWN);
                match st.slot.take() {
                    // A scalar document: the probe came back to the top.
                    Some(val) => docs.push(Node { loc, val }),
                    None => {
                        let loc = loc.or(end_of(text));
                        return Err(YamlError {
                            loc,
                            message: strip_position(&e.to_string()),
                        });
                    }
                }
            }
        }
    }
    Ok(docs)
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The position just after the last line, for errors serde_yaml reports
/// without a position (end of stream).
fn end_of(text: &str) -> Loc {
    let lines = text.lines().count().max(1);
    Loc {
        line: to_u32(lines),
        col: 1,
    }
}

/// serde_yaml's message without its trailing " at line L column C".
fn strip_position(msg: &str) -> String {
    if let Some((head, tail)) = msg.rsplit_once(" at line ") {
        let mut parts = tail.splitn(2, " column ");
        let line_ok = parts
            .next()
            .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()));
        let col_ok = parts
            .next()
            .is_some_and(|c| c.chars().all(|c| c.is_ascii_digit()));
        if line_ok && col_ok {
            return head.to_string();
        }
    }
    msg.to_string()
}

/// Read the position serde_yaml attached to an error from its `Debug`
/// text: `Error("message", line: 3, column: 7)`. The message is escaped
/// inside quotes, so the last `", line: "` is always serde_yaml's own.
fn loc_of_error<E: fmt::Debug>(e: &E) -> Loc {
    let text = format!("{e:?}");
    let Some((_, tail)) = text.rsplit_once("\", line: ") else {
        return Loc::UNKNOWN;
    };
    let Some((line, rest)) = tail.split_once(", column: ") else {
        return Loc::UNKNOWN;
    };
    let col = rest.strip_suffix(')').unwrap_or(rest);
    match (line.parse::<u32>(), col.parse::<u32>()) {
        (Ok(line), Ok(col)) => Loc { line, col },
        _ => Loc::UNKNOWN,
    }
}

struct State {
    /// The scalar a probe just read.
    slot: Option<Val>,
    nodes_left: usize,
}

impl State {
    fn count<E: de::Error>(&mut self) -> Result<(), E> {
        match self.nodes_left.checked_sub(1) {
            Some(n) => {
                self.nodes_left = n;
                Ok(())
            }
            None => Err(E::custom(format!(
                "the document expands to more than {MAX_NODES} values (alias loop?)"
            ))),
        }
    }
}

struct NodeSeed<'a> {
    st: &'a mut State,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor { st: self.st })
    }
}

/// Run `f` (one `next_*_seed` call); turn a probe error into the scalar
/// node it carries.
fn catch<E: de::Error + fmt::Debug>(
    st: &mut State,
    f: impl FnOnce(&mut State) -> Result<Option<Node>, E>,
) -> Result<Option<Node>, E> {
    st.slot = None;
    match f(st) {
        Ok(node) => Ok(node),
        Err(e) => match st.slot.take() {
            Some(val) => Ok(Some(Node {
                loc: loc_of_error(&e),
                val,
            })),
            None => Err(e),
        },
    }
}

struct NodeVisitor<'a> {
    st: &'a mut State,
}

impl NodeVisitor<'_> {
    fn scalar<E: de::Error>(self, val: Val) -> Result<Node, E> {
        self.st.count::<E>()?;
        self.st.slot = Some(val);
        Err(E::custom(PROBE))
    }
}

impl<'de> Visitor<'de> for NodeVisitor<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        self.scalar(Val::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        self.scalar(Val::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        self.scalar(Val::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        self.scalar(Val::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        match i128::try_from(v) {
            Ok(v) => self.scalar(Val::Int(v)),
            Err(_) => self.scalar(Val::Str(v.to_string())),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        self.scalar(Val::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        self.scalar(Val::Str(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        self.scalar(Val::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        // An empty document: nothing to probe, no position.
        self.st.count::<E>()?;
        Ok(Node {
            loc: Loc::UNKNOWN,
            val: Val::Null,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        self.st.count::<A::Error>()?;
        let mut items = Vec::new();
        while let Some(item) = catch(self.st, |st| seq.next_element_seed(NodeSeed { st }))? {
            items.push(item);
        }
        let loc = items.first().map_or(Loc::UNKNOWN, |n| n.loc);
        Ok(Node {
            loc,
            val: Val::Seq(items),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        self.st.count::<A::Error>()?;
        let mut entries: Vec<(Node, Node)> = Vec::new();
        let mut merges = Vec::new();
        while let Some(key) = catch(self.st, |st| map.next_key_seed(NodeSeed { st }))? {
            let value = catch(self.st, |st| map.next_value_seed(NodeSeed { st }).map(Some))?;
            let mut value = value.unwrap_or(Node {
                loc: key.loc,
                val: Val::Null,
            });
            value.loc = value.loc.or(key.loc);
            if key.val == Val::Str("<<".into()) {
                merges.push(value);
            } else {
                entries.push((key, value));
            }
        }
        // `<<: *base` / `<<: [*a, *b]`: copy the keys not given here.
        for merge in merges {
            let sources = match merge.val {
                Val::Map(m) => vec![m],
                Val::Seq(items) => {
                    let mut v = Vec::new();
                    for item in items {
                        match item.val {
                            Val::Map(m) => v.push(m),
                            _ => return Err(merge_error(item.loc)),
                        }
                    }
                    v
                }
                _ => return Err(merge_error(merge.loc)),
            };
            for source in sources {
                for (k, v) in source {
                    if !entries.iter().any(|(have, _)| have.val == k.val) {
                        entries.push((k, v));
                    }
                }
            }
        }
        let loc = entries.first().map_or(Loc::UNKNOWN, |(k, _)| k.loc);
        Ok(Node {
            loc,
            val: Val::Map(entries),
        })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        let tag = data
            .variant::<String>()
            .map(|(tag, _)| tag)
            .unwrap_or_default();
        Err(de::Error::custom(format!(
            "`!{tag}` is a YAML tag, which rules do not use; quote a value that starts \
             with `!` (\"!{tag}\")"
        )))
    }
}

fn merge_error<E: de::Error>(loc: Loc) -> E {
    E::custom(format!(
        "`<<` (merge key) needs a mapping or a list of mappings (line {})",
        loc.line
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut docs = parse(text).unwrap();
        assert_eq!(docs.len(), 1, "{docs:?}");
        docs.remove(0)
    }

    fn at(line: u32, col: u32) -> Loc {
        Loc { line, col }
    }

    #[test]
    fn scalars_carry_their_positions() {
        let n = one("- id: 1\n  name: \"a b\"\n  x: [1, 0x1f, 2.5, true, ~, yes]\n");
        let Val::Seq(items) = &n.val else { panic!() };
        assert_eq!(n.loc, at(1, 3));
        let Val::Map(m) = &items[0].val else { panic!() };
        assert_eq!(m[0].0.loc, at(1, 3));
        assert_eq!(
            m[0].1,
            Node {
                loc: at(1, 7),
                val: Val::Int(1)
            }
        );
        assert_eq!(
            m[1].1,
            Node {
                loc: at(2, 9),
                val: Val::Str("a b".into())
            }
        );
        let Val::Seq(xs) = &m[2].1.val else { panic!() };
        let vals: Vec<_> = xs.iter().map(|n| (n.loc.col, n.val.clone())).collect();
        assert_eq!(
            vals,
            vec![
                (7, Val::Int(1)),
                (10, Val::Int(31)),
                (16, Val::Float(2.5)),
                (21, Val::Bool(true)),
                (27, Val::Null),
                (30, Val::Str("yes".into())),
            ]
        );
    }

    #[test]
    fn first_line_first_column_is_a_position_too() {
        let n = one("a: 1");
        let Val::Map(m) = &n.val else { panic!() };
        assert_eq!(m[0].0.loc, at(1, 1));
        assert_eq!(m[0].1.loc, at(1, 4));
    }

    #[test]
    fn scalar_document_and_empty_document() {
        assert_eq!(one("  hello").val, Val::Str("hello".into()));
        assert_eq!(one("").val, Val::Null);
        assert_eq!(parse("").unwrap().len(), 1);
    }

    #[test]
    fn multiple_documents_keep_absolute_lines() {
        let docs = parse("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        let Val::Map(m) = &docs[1].val else { panic!() };
        assert_eq!(m[0].0.loc, at(3, 1));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(e.loc.line >= 2, "{e:?}");
        let e = parse("a: 1\n  b: 2\n").unwrap_err();
        assert_eq!(e.loc.line, 2, "{e:?}");
        assert!(!e.message.contains(" at line "), "{e:?}");
    }

    #[test]
    fn tags_are_refused_with_a_hint() {
        let e = parse("src: !$ENG\n").unwrap_err();
        assert_eq!(e.loc.line, 1);
        assert!(e.message.contains("\"!$ENG\""), "{}", e.message);
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let n = one("base: &b {x: 1, y: 2}\nr:\n  <<: *b\n  y: 3\n");
        let Val::Map(m) = &n.val else { panic!() };
        let Val::Map(r) = &m[1].1.val else { panic!() };
        let pairs: Vec<_> = r
            .iter()
            .map(|(k, v)| (k.val.to_string(), v.val.to_string()))
            .collect();
        assert_eq!(
            pairs,
            vec![("\"y\"".into(), "3".into()), ("\"x\"".into(), "1".into())]
        );
    }

    #[test]
    fn alias_bombs_stop_at_the_node_cap() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse(&text).is_err());
    }

    #[test]
    fn error_debug_format_is_what_loc_of_error_reads() {
        // A message error raised inside a Deserialize impl, as our probes are.
        let e: Result<Vec<u32>, _> =
            serde_yaml::from_str("- 1\n- \"x\\\", line: 9, column: 9)\"\n");
        let e = e.unwrap_err();
        let l = e.location().unwrap();
        assert_eq!(
            loc_of_error(&e),
            Loc {
                line: l.line() as u32,
                col: l.column() as u32
            }
        );
        assert_eq!(strip_position("bad at line 3 column 4"), "bad");
        assert_eq!(strip_position("at line x"), "at line x");
    }
}
