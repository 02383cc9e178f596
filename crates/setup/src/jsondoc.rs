//! A JSON (or JSON-with-comments) document edited in place: only the parts we
//! change are rewritten, so the user's key order, indentation, comments and
//! everything else stay as they were, byte for byte.

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use serde_json::Value;

use crate::SetupError;

/// Which dialect a file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Strict JSON (the client's own parser rejects comments and trailing commas).
    Json,
    /// JSON with comments and trailing commas (OpenCode's `opencode.jsonc`).
    Jsonc,
}

/// A parsed document whose root is an object.
pub struct JsonDoc {
    root: CstRootNode,
    key_order: &'static [&'static str],
}

impl JsonDoc {
    /// Parse `text` (an empty or blank file counts as `{}`). Refuses anything the
    /// client itself would not read, and a root that is not an object.
    pub fn parse(text: &str, dialect: Dialect, file: &str) -> Result<Self, SetupError> {
        let unparsable = |reason: String| SetupError::Unparsable {
            file: file.to_string(),
            reason,
        };
        let text = if text.trim().is_empty() { "{}" } else { text };
        if dialect == Dialect::Json {
            serde_json::from_str::<Value>(text).map_err(|e| unparsable(e.to_string()))?;
        }
        let options = ParseOptions {
            allow_comments: dialect == Dialect::Jsonc,
            allow_loose_object_property_names: false,
            allow_trailing_commas: dialect == Dialect::Jsonc,
            allow_missing_commas: false,
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            allow_unary_plus_numbers: false,
        };
        let root = CstRootNode::parse(text, &options).map_err(|e| unparsable(e.to_string()))?;
        if root.object_value().is_none() {
            return Err(unparsable("the top level is not a JSON object".into()));
        }
        Ok(Self {
            root,
            key_order: &[],
        })
    }

    /// Write the keys of new objects in this order (keys not named come after,
    /// alphabetically), e.g. `type` before `command` as the client writes them.
    pub fn with_key_order(mut self, order: &'static [&'static str]) -> Self {
        self.key_order = order;
        self
    }

    fn input(&self, v: &Value) -> CstInputValue {
        input(v, self.key_order)
    }

    /// The document as text.
    pub fn render(&self) -> String {
        self.root.to_string()
    }

    /// The whole document as a value.
    pub fn value(&self) -> Value {
        self.root.to_serde_value().unwrap_or(Value::Null)
    }

    fn root_object(&self) -> CstObject {
        self.root.object_value_or_set()
    }

    /// The object at `path` (each part a key), if every part is an object.
    pub fn object(&self, path: &[&str]) -> Option<CstObject> {
        let mut obj = self.root.object_value()?;
        for key in path {
            obj = obj.object_value(key)?;
        }
        Some(obj)
    }

    /// The value at `path`.
    pub fn get(&self, path: &[&str]) -> Option<Value> {
        let (last, parents) = path.split_last()?;
        self.object(parents)?.get(last)?.value()?.to_serde_value()
    }

    /// Make `path` hold `value`, creating missing objects on the way. Returns
    /// whether anything changed. A part of the path that exists but is not an
    /// object is an error (we never overwrite the user's data of another shape).
    pub fn set(&mut self, path: &[&str], value: &Value, file: &str) -> Result<bool, SetupError> {
        let Some((last, parents)) = path.split_last() else {
            return Ok(false);
        };
        if self.get(path).as_ref() == Some(value) {
            return Ok(false);
        }
        let mut obj = self.root_object();
        for (i, key) in parents.iter().enumerate() {
            obj = match obj.get(key) {
                None => obj.object_value_or_set(key),
                Some(prop) => prop.object_value().ok_or_else(|| SetupError::Shape {
                    file: file.to_string(),
                    path: parents[..=i].join("."),
                    expected: "an object",
                })?,
            };
        }
        match obj.get(last) {
            Some(prop) => prop.set_value(self.input(value)),
            None => {
                obj.append(last, self.input(value));
            }
        }
        Ok(true)
    }

    /// Remove the key at `path`; then remove each parent object (up to
    /// `prune_depth` of them, innermost first) that this left empty. Returns
    /// whether anything changed.
    pub fn remove(&mut self, path: &[&str], prune_depth: usize) -> bool {
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let Some(prop) = self.object(parents).and_then(|o| o.get(last)) else {
            return false;
        };
        prop.remove();
        self.prune(parents, prune_depth);
        true
    }

    /// Remove the objects along `path` (innermost first, at most `depth`) that are empty.
    pub fn prune(&mut self, path: &[&str], depth: usize) {
        for n in (path.len().saturating_sub(depth)..path.len()).rev() {
            let (last, parents) = path[..=n].split_last().expect("non-empty");
            let Some(parent) = self.object(parents) else {
                return;
            };
            let Some(prop) = parent.get(last) else {
                return;
            };
            let empty = match prop.value().and_then(|v| v.to_serde_value()) {
                Some(Value::Object(m)) => m.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                _ => false,
            };
            if !empty {
                return;
            }
            prop.remove();
        }
    }

    /// The elements of the array at `path` (empty when there is none).
    pub fn array(&self, path: &[&str]) -> Vec<Value> {
        match self.get(path) {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        }
    }

    /// Rewrite the elements of the array at `path` one by one: `f` returns
    /// `None` to keep an element as it is, `Some(None)` to drop it, or
    /// `Some(Some(v))` to replace it. Returns whether anything changed.
    pub fn rewrite_array(
        &mut self,
        path: &[&str],
        mut f: impl FnMut(&Value) -> Option<Option<Value>>,
    ) -> bool {
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let Some(array) = self.object(parents).and_then(|o| o.array_value(last)) else {
            return false;
        };
        let mut changed = false;
        for node in array.elements() {
            let Some(value) = node.to_serde_value() else {
                continue;
            };
            match f(&value) {
                None => {}
                Some(None) => {
                    node.remove();
                    changed = true;
                }
                Some(Some(new)) => {
                    if let Some(obj) = node.as_object() {
                        obj.replace_with(self.input(&new));
                    } else if let Some(arr) = node.as_array() {
                        arr.replace_with(self.input(&new));
                    } else {
                        let index = node.element_index();
                        node.remove();
                        match index {
                            Some(i) => array.insert(i, self.input(&new)),
                            None => array.append(self.input(&new)),
                        };
                    }
                    changed = true;
                }
            }
        }
        changed
    }

    /// Append `value` to the array at `path`, creating the objects on the way
    /// and the array itself when missing.
    pub fn append(&mut self, path: &[&str], value: &Value, file: &str) -> Result<(), SetupError> {
        let Some((last, parents)) = path.split_last() else {
            return Ok(());
        };
        if self.get(path).is_none() {
            self.set(path, &Value::Array(vec![]), file)?;
        }
        let parent = self.object(parents).ok_or_else(|| SetupError::Shape {
            file: file.to_string(),
            path: parents.join("."),
            expected: "an object",
        })?;
        let array = parent.array_value(last).ok_or_else(|| SetupError::Shape {
            file: file.to_string(),
            path: path.join("."),
            expected: "an array",
        })?;
        array.append(self.input(value));
        Ok(())
    }

    /// Whether the document is an empty object.
    pub fn is_empty_object(&self) -> bool {
        matches!(self.value(), Value::Object(m) if m.is_empty())
    }
}

/// A serde value as the CST's input value, object keys in `order` first.
pub fn input(v: &Value, order: &[&str]) -> CstInputValue {
    match v {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(a) => CstInputValue::Array(a.iter().map(|v| input(v, order)).collect()),
        Value::Object(o) => {
            let rank = |k: &str| order.iter().position(|o| *o == k).unwrap_or(order.len());
            let mut entries: Vec<(&String, &Value)> = o.iter().collect();
            entries.sort_by_key(|(k, _)| rank(k));
            CstInputValue::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), input(v, order)))
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_keeps_everything_else_byte_for_byte() {
        let text = "{\n    \"b\": 1,\n    \"a\": [1, 2],\n    \"mcpServers\": {\n        \"x\": {}\n    }\n}\n";
        let mut doc = JsonDoc::parse(text, Dialect::Json, "f").unwrap();
        assert!(
            doc.set(&["mcpServers", "y"], &json!({"k": "v"}), "f")
                .unwrap()
        );
        assert_eq!(
            doc.render(),
            "{\n    \"b\": 1,\n    \"a\": [1, 2],\n    \"mcpServers\": {\n        \"x\": {},\n        \"y\": {\n            \"k\": \"v\"\n        }\n    }\n}\n"
        );
        assert!(
            !doc.set(&["mcpServers", "y"], &json!({"k": "v"}), "f")
                .unwrap()
        );
        assert!(doc.remove(&["mcpServers", "y"], 1));
        assert_eq!(doc.render(), text);
    }

    #[test]
    fn created_parents_are_pruned_on_remove() {
        let text = "{\n  \"a\": true\n}";
        let mut doc = JsonDoc::parse(text, Dialect::Json, "f").unwrap();
        doc.set(&["mcpServers", "y"], &json!(1), "f").unwrap();
        assert!(doc.remove(&["mcpServers", "y"], 1));
        assert_eq!(doc.render(), text);
    }

    #[test]
    fn refuses_what_the_client_would_not_read() {
        for bad in ["{", "[1]", "{\"a\": 1,}", "// c\n{}"] {
            let e = JsonDoc::parse(bad, Dialect::Json, "cfg.json")
                .err()
                .unwrap();
            assert!(e.to_string().contains("cfg.json"), "{e}");
        }
        assert!(JsonDoc::parse("// c\n{\"a\": 1,}", Dialect::Jsonc, "f").is_ok());
    }

    #[test]
    fn a_part_of_another_shape_is_an_error_not_overwritten() {
        let mut doc = JsonDoc::parse("{\"mcpServers\": []}", Dialect::Json, "f").unwrap();
        let e = doc.set(&["mcpServers", "x"], &json!(1), "f").unwrap_err();
        assert!(e.to_string().contains("mcpServers"), "{e}");
        assert_eq!(doc.render(), "{\"mcpServers\": []}");
    }
}
