//! Reading network configurations from JSON objects, with errors naming the operation and field.

use anyhow::{bail, Result};
use serde_json::{Map, Value};

/// A JSON object being read by operation `op`.
pub(crate) struct JsonObj<'a> {
    op: String,
    map: &'a Map<String, Value>,
}

/// `v` as an object, or an error naming `op`.
pub(crate) fn obj<'a>(op: &str, v: &'a Value) -> Result<JsonObj<'a>> {
    match v {
        Value::Object(map) => Ok(JsonObj { op: op.to_string(), map }),
        other => bail!("{op}: expected a JSON object, got {other}"),
    }
}

impl JsonObj<'_> {
    /// Errors on a field not in `known`.
    pub fn only(&self, known: &[&str]) -> Result<()> {
        if let Some(k) = self.map.keys().find(|k| !known.contains(&k.as_str())) {
            bail!("{}: unknown field {k:?} (known fields: {})", self.op, known.join(", "));
        }
        Ok(())
    }

    /// The field `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    fn required(&self, key: &str) -> Result<&Value> {
        match self.map.get(key) {
            Some(v) => Ok(v),
            None => bail!("{}: missing field {key:?}", self.op),
        }
    }
}

/// A required integer field.
pub(crate) fn get_i64(o: &JsonObj, key: &str) -> Result<i64> {
    let v = o.required(key)?;
    match v.as_i64() {
        Some(n) => Ok(n),
        None => bail!("{}: expected {key:?} to be an integer, got {v}", o.op),
    }
}

/// A required non-negative 64-bit integer field (a seed).
pub(crate) fn get_u64(o: &JsonObj, key: &str) -> Result<u64> {
    let v = o.required(key)?;
    match v.as_u64() {
        Some(n) => Ok(n),
        None => bail!("{}: expected {key:?} to be an integer in [0, 2^64), got {v}", o.op),
    }
}

/// An optional integer field (`null` or absent is `None`).
pub(crate) fn get_opt_i64(o: &JsonObj, key: &str) -> Result<Option<i64>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) => Ok(Some(n)),
            None => bail!("{}: expected {key:?} to be an integer or null, got {v}", o.op),
        },
    }
}

/// A required list of integers.
pub(crate) fn get_i64_list(o: &JsonObj, key: &str) -> Result<Vec<i64>> {
    let v = o.required(key)?;
    let bad = || anyhow::anyhow!("{}: expected {key:?} to be a list of integers, got {v}", o.op);
    v.as_array().ok_or_else(bad)?.iter().map(|x| x.as_i64().ok_or_else(bad)).collect()
}

/// A required boolean field.
pub(crate) fn get_bool(o: &JsonObj, key: &str) -> Result<bool> {
    let v = o.required(key)?;
    match v.as_bool() {
        Some(b) => Ok(b),
        None => bail!("{}: expected {key:?} to be true or false, got {v}", o.op),
    }
}
