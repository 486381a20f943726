//! Values carried by history operations: the EDN data model, so that Jepsen histories from
//! any system round-trip, with a JSON mapping for Odradek's native JSON-lines format.
//!
//! JSON mapping (lossless for everything our writers produce): `null`, booleans, integers,
//! floats and strings map directly; keywords and symbols become strings (checkers compare
//! names with [`Value::as_name`], which treats `:send` and `"send"` alike); vectors and lists
//! become arrays; a map whose keys are all strings or keywords becomes an object, any other
//! map becomes `{"#map": [[k, v], …]}`; a set becomes `{"#set": […]}`; an unknown tagged
//! literal becomes `{"#tag": "ns/name", "value": v}`.

use std::cmp::Ordering;

/// A float with a total order, so values can be map keys and memoization keys.
#[derive(Clone, Copy, Debug)]
pub struct Float(pub f64);

impl PartialEq for Float {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0) == Ordering::Equal
    }
}
impl Eq for Float {}
impl PartialOrd for Float {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Float {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}
impl std::hash::Hash for Float {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state)
    }
}

/// An EDN value. Maps and sets keep their entries as read (in order) for faithful output;
/// compare them with [`Value::map_get`] rather than positionally.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// `nil` / `null`.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// An integer too large for 64 bits (EDN `N` suffix or many digits), as its digits.
    BigInt(String),
    /// A floating-point number.
    Float(Float),
    /// A string.
    Str(String),
    /// A keyword, without the leading colon (`:jepsen.history/op` → `jepsen.history/op`).
    Keyword(String),
    /// A symbol.
    Symbol(String),
    /// `[…]`.
    Vector(Vec<Value>),
    /// `(…)`.
    List(Vec<Value>),
    /// `#{…}`.
    Set(Vec<Value>),
    /// `{…}` as key/value pairs in the order read.
    Map(Vec<(Value, Value)>),
    /// An unknown tagged literal `#tag value`, kept as tag and value.
    Tagged(String, Box<Value>),
}

impl Value {
    /// The name of a keyword, symbol or string (`:send`, `send`, `"send"` all give `send`).
    pub fn as_name(&self) -> Option<&str> {
        match self {
            Value::Keyword(s) | Value::Symbol(s) | Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The elements of a vector or list (EDN treats both as sequences).
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::Vector(items) | Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The value under `key` in a map; keywords and strings with the same name match.
    pub fn map_get(&self, key: &Value) -> Option<&Value> {
        let Value::Map(entries) = self else {
            return None;
        };
        entries
            .iter()
            .find(|(k, _)| k == key || (k.as_name().is_some() && k.as_name() == key.as_name()))
            .map(|(_, v)| v)
    }

    /// Converts to JSON with the mapping in the module docs.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Nil => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::BigInt(digits) => J::Object(tagged_json("bigint", J::String(digits.clone()))),
            Value::Float(f) => serde_json::Number::from_f64(f.0).map_or(J::Null, J::Number),
            Value::Str(s) | Value::Keyword(s) | Value::Symbol(s) => J::String(s.clone()),
            Value::Vector(items) | Value::List(items) => {
                J::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Set(items) => {
                single_key("#set", J::Array(items.iter().map(Value::to_json).collect()))
            }
            Value::Map(entries) => map_to_json(entries),
            Value::Tagged(tag, value) => J::Object(tagged_json(tag, value.to_json())),
        }
    }

    /// Converts from JSON with the mapping in the module docs.
    pub fn from_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Nil,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                // Above i64::MAX: keep every digit rather than round to a float.
                None if n.is_u64() => Value::BigInt(n.to_string()),
                None => Value::Float(Float(n.as_f64().unwrap_or(f64::NAN))),
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(items) => Value::Vector(items.iter().map(Value::from_json).collect()),
            J::Object(object) => object_from_json(object),
        }
    }
}

fn single_key(key: &str, value: serde_json::Value) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    object.insert(key.to_string(), value);
    serde_json::Value::Object(object)
}

fn tagged_json(tag: &str, value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let mut object = serde_json::Map::new();
    object.insert(
        "#tag".to_string(),
        serde_json::Value::String(tag.to_string()),
    );
    object.insert("value".to_string(), value);
    object
}

fn map_to_json(entries: &[(Value, Value)]) -> serde_json::Value {
    let all_named = entries
        .iter()
        .all(|(k, _)| matches!(k, Value::Str(_) | Value::Keyword(_)));
    if all_named {
        let object = entries
            .iter()
            .map(|(k, v)| (k.as_name().unwrap_or_default().to_string(), v.to_json()))
            .collect();
        return serde_json::Value::Object(object);
    }
    let pairs = entries
        .iter()
        .map(|(k, v)| serde_json::Value::Array(vec![k.to_json(), v.to_json()]))
        .collect();
    single_key("#map", serde_json::Value::Array(pairs))
}

fn object_from_json(object: &serde_json::Map<String, serde_json::Value>) -> Value {
    use serde_json::Value as J;
    if object.len() == 1 {
        if let Some(J::Array(items)) = object.get("#set") {
            return Value::Set(items.iter().map(Value::from_json).collect());
        }
        if let Some(J::Array(pairs)) = object.get("#map") {
            let entries = pairs.iter().filter_map(|pair| match pair {
                J::Array(kv) if kv.len() == 2 => {
                    Some((Value::from_json(&kv[0]), Value::from_json(&kv[1])))
                }
                _ => None,
            });
            return Value::Map(entries.collect());
        }
    }
    if object.len() == 2 {
        if let (Some(J::String(tag)), Some(value)) = (object.get("#tag"), object.get("value")) {
            if tag == "bigint" {
                if let J::String(digits) = value {
                    return Value::BigInt(digits.clone());
                }
            }
            return Value::Tagged(tag.clone(), Box::new(Value::from_json(value)));
        }
    }
    Value::Map(
        object
            .iter()
            .map(|(k, v)| (Value::Str(k.clone()), Value::from_json(v)))
            .collect(),
    )
}
