//! The built-in models: Knossos's `register` and `cas-register`, and a key-value store `kv`.
//!
//! Accepted operations (`f` names compare as keywords or strings alike; "value" is the `ok`
//! completion's value, or the invocation's when the completion has none or the operation is
//! indeterminate):
//!
//! | model | `f` | value | meaning |
//! |---|---|---|---|
//! | register, cas-register | `read` | `v` | the register held `v`; `nil` matches any state (Knossos) |
//! | register, cas-register | `write` | `v` | set the register to `v` |
//! | cas-register | `cas` | `[old new]` | if it holds `old`, set `new`; a failed cas is a `fail` op and never happened |
//! | kv | `read` / `get` | `[k v]` or `{key k, value v}` | key `k` held `v`; `nil` means absent |
//! | kv | `write` / `put` | `[k v]` or `{key k, value v}` | set key `k` to `v` |
//! | kv | `append` | `[k v]` or `{key k, value v}` | append `v` to the list at `k` (absent = empty) |
//! | kv | `cas` | `[k [old new]]` or `{key k, value [old new]}` | compare-and-set key `k` |
//!
//! The registers start at `nil` (or a chosen initial value) and are one object unless the
//! history uses `jepsen.independent` `[key value]` tuples, which the checker unwraps. The kv
//! model is always partitioned by key; every key starts absent. A kv read of `nil` is
//! strict (the key was absent), unlike the registers' wildcard read, because a key-value
//! store can say "not found" and that answer can be wrong.
//!
//! Indeterminate reads, and register reads of `nil`, constrain nothing and change nothing, so
//! they are left out of the search.

use super::model::{Completion, Model, ParsedOp, PartitionKey, RawOp};
use crate::history::Value;

/// A register operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    /// The register held this value.
    Read(Value),
    /// The register was set to this value.
    Write(Value),
    /// If the register held `.0`, it was set to `.1`.
    Cas(Value, Value),
}

/// Knossos's `register`: read and write.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Register {
    /// The current value (`nil` initially).
    pub value: Value,
}

/// Knossos's `cas-register`: read, write and compare-and-set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CasRegister {
    /// The current value (`nil` initially).
    pub value: Value,
}

impl Default for Register {
    fn default() -> Self {
        Register { value: Value::Nil }
    }
}

impl Default for CasRegister {
    fn default() -> Self {
        CasRegister { value: Value::Nil }
    }
}

impl Default for Kv {
    /// The key is absent.
    fn default() -> Self {
        Kv { value: Value::Nil }
    }
}

impl Register {
    /// A register that starts with `value`.
    pub fn with_initial(value: Value) -> Register {
        Register { value }
    }
}

impl CasRegister {
    /// A compare-and-set register that starts with `value`.
    pub fn with_initial(value: Value) -> CasRegister {
        CasRegister { value }
    }
}

fn parse_register_op(op: &RawOp<'_>, allow_cas: bool) -> Result<Option<RegisterOp>, String> {
    let value = op.effective_value();
    match op.f {
        "read" if op.completion == Completion::Indeterminate || *value == Value::Nil => Ok(None),
        "read" => Ok(Some(RegisterOp::Read(normalize(value)))),
        "write" => Ok(Some(RegisterOp::Write(normalize(value)))),
        "cas" if allow_cas => {
            let (old, new) = pair_of(value).ok_or("value [old new] for f `cas`")?;
            Ok(Some(RegisterOp::Cas(old, new)))
        }
        _ if allow_cas => Err("f `read`, `write` or `cas`".to_string()),
        _ => Err("f `read` or `write`".to_string()),
    }
}

fn step_register(value: &Value, op: &RegisterOp) -> Option<Value> {
    match op {
        RegisterOp::Read(read) => (read == value).then(|| value.clone()),
        RegisterOp::Write(written) => Some(written.clone()),
        RegisterOp::Cas(old, new) => (old == value).then(|| new.clone()),
    }
}

impl Model for Register {
    type Op = RegisterOp;

    fn name(&self) -> String {
        "register".to_string()
    }

    fn parse_op(&self, op: &RawOp<'_>) -> Result<Option<ParsedOp<RegisterOp>>, String> {
        Ok(parse_register_op(op, false)?.map(whole))
    }

    fn is_read_only(op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }

    fn step(&self, op: &RegisterOp) -> Option<Register> {
        step_register(&self.value, op).map(|value| Register { value })
    }

    fn describe_state(&self) -> String {
        format!("register = {}", show(&self.value))
    }
}

impl Model for CasRegister {
    type Op = RegisterOp;

    fn name(&self) -> String {
        "cas-register".to_string()
    }

    fn parse_op(&self, op: &RawOp<'_>) -> Result<Option<ParsedOp<RegisterOp>>, String> {
        Ok(parse_register_op(op, true)?.map(whole))
    }

    fn is_read_only(op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }

    fn step(&self, op: &RegisterOp) -> Option<CasRegister> {
        step_register(&self.value, op).map(|value| CasRegister { value })
    }

    fn describe_state(&self) -> String {
        format!("register = {}", show(&self.value))
    }
}

/// A kv operation on one key (the key is the partition).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvOp {
    /// The key held this value (`nil`: absent).
    Read(Value),
    /// The key was set to this value.
    Write(Value),
    /// This element was appended to the key's list.
    Append(Value),
    /// If the key held `.0`, it was set to `.1`.
    Cas(Value, Value),
}

/// A key-value store, searched one key at a time; the state is one key's value (`nil`:
/// absent).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Kv {
    /// The key's current value.
    pub value: Value,
}

impl Model for Kv {
    type Op = KvOp;

    fn name(&self) -> String {
        "kv".to_string()
    }

    fn parse_op(&self, op: &RawOp<'_>) -> Result<Option<ParsedOp<KvOp>>, String> {
        const SHAPE: &str = "value [key value] or {key …, value …}";
        let expected = |f: &str| format!("{SHAPE} for f `{f}`");
        let (key, value) = key_value(op.effective_value()).ok_or_else(|| expected(op.f))?;
        let parsed = match op.f {
            "read" | "get" if op.completion == Completion::Indeterminate => return Ok(None),
            "read" | "get" => KvOp::Read(normalize(&value)),
            "write" | "put" => KvOp::Write(normalize(&value)),
            "append" => KvOp::Append(normalize(&value)),
            "cas" => {
                let (old, new) = pair_of(&value)
                    .ok_or("value [key [old new]] or {key …, value [old new]} for f `cas`")?;
                KvOp::Cas(old, new)
            }
            _ => return Err("f `read`/`get`, `write`/`put`, `append` or `cas`".to_string()),
        };
        Ok(Some(ParsedOp {
            partition: PartitionKey::Key(key),
            op: parsed,
        }))
    }

    fn is_read_only(op: &KvOp) -> bool {
        matches!(op, KvOp::Read(_))
    }

    fn step(&self, op: &KvOp) -> Option<Kv> {
        let value = match op {
            KvOp::Read(read) => (*read == self.value).then(|| self.value.clone())?,
            KvOp::Write(written) => written.clone(),
            KvOp::Cas(old, new) => (*old == self.value).then(|| new.clone())?,
            KvOp::Append(element) => match &self.value {
                Value::Nil => Value::Vector(vec![element.clone()]),
                Value::Vector(items) => {
                    let mut items = items.clone();
                    items.push(element.clone());
                    Value::Vector(items)
                }
                _ => return None,
            },
        };
        Some(Kv { value })
    }

    fn describe_state(&self) -> String {
        match self.value {
            Value::Nil => "key absent".to_string(),
            _ => format!("key = {}", show(&self.value)),
        }
    }
}

fn whole<O>(op: O) -> ParsedOp<O> {
    ParsedOp {
        partition: PartitionKey::Whole,
        op,
    }
}

/// `[a b]` (vector or list) as a pair.
fn pair_of(value: &Value) -> Option<(Value, Value)> {
    match value.as_seq()? {
        [a, b] => Some((normalize(a), normalize(b))),
        _ => None,
    }
}

/// `[k v]` or a map with `key` (and optionally `value`) entries.
fn key_value(value: &Value) -> Option<(Value, Value)> {
    if let Some(pair) = pair_of(value) {
        return Some(pair);
    }
    let key = value.map_get(&Value::Keyword("key".to_string()))?;
    let inner = value.map_get(&Value::Keyword("value".to_string()));
    Some((normalize(key), inner.map_or(Value::Nil, normalize)))
}

/// EDN lists and vectors are both sequences, and a keyword is a name like a string: compare
/// them as such, so a client's `(1 2)` read matches a model's `[1 2]`.
pub(crate) fn normalize(value: &Value) -> Value {
    match value {
        Value::List(items) | Value::Vector(items) => {
            Value::Vector(items.iter().map(normalize).collect())
        }
        Value::Keyword(name) | Value::Symbol(name) => Value::Str(name.clone()),
        other => other.clone(),
    }
}

/// A compact rendering of a value for explanations (EDN-like).
pub(crate) fn show(value: &Value) -> String {
    match value {
        Value::Nil => "nil".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::BigInt(digits) => format!("{digits}N"),
        Value::Float(f) => f.0.to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::Keyword(k) => format!(":{k}"),
        Value::Symbol(s) => s.clone(),
        Value::Vector(items) => format!("[{}]", join(items)),
        Value::List(items) => format!("({})", join(items)),
        Value::Set(items) => format!("#{{{}}}", join(items)),
        Value::Map(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{} {}", show(k), show(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Tagged(tag, inner) => format!("#{tag} {}", show(inner)),
    }
}

fn join(items: &[Value]) -> String {
    items.iter().map(show).collect::<Vec<_>>().join(" ")
}
