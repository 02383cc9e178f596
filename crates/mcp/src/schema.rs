//! Compact tool input schemas. The schema still comes from each tool's
//! parameter type (schemars); this pass drops what costs every session context
//! and tells the model nothing: `$schema`, `title`, `format`, a `null`
//! default, the `null` alternative of an optional field (optional is what
//! `required` already says), and `$defs` (inlined, so a shared type costs its
//! few words where it is used, never a block of prose per tool). An enum
//! written as `oneOf` of documented constants becomes one `enum` list.

use rmcp::model::JsonObject;
use serde_json::{Map, Value};

/// The compact form of a tool's input schema (see the module doc).
pub fn compact(schema: &JsonObject) -> JsonObject {
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut root = schema.clone();
    root.remove("$defs");
    root.remove("$schema");
    match walk(Value::Object(root), &defs) {
        Value::Object(o) => o,
        _ => JsonObject::new(),
    }
}

fn walk(v: Value, defs: &Map<String, Value>) -> Value {
    let mut o = match v {
        Value::Object(o) => o,
        other => return other,
    };
    // A reference: the definition inlined, without its own prose (the field
    // using it says what it is for).
    if let Some(target) = o.remove("$ref") {
        let name = target
            .as_str()
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .unwrap_or_default();
        if let Some(Value::Object(mut def)) = defs.get(name).map(|d| walk(d.clone(), defs)) {
            def.remove("description");
            def.extend(o);
            return walk(Value::Object(def), defs);
        }
        o.insert("$ref".into(), target);
    }
    o.remove("title");
    o.remove("$schema");
    // An unsigned number says so with `format`; its `minimum: 0` is the same noise.
    if let Some(Value::String(f)) = o.remove("format")
        && f.starts_with("uint")
        && o.get("minimum") == Some(&Value::from(0))
    {
        o.remove("minimum");
    }
    if o.get("default") == Some(&Value::Null) {
        o.remove("default");
    }
    if let Some(Value::Array(types)) = o.get("type") {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        let t = if kept.len() == 1 {
            kept[0].clone()
        } else {
            Value::Array(kept)
        };
        o.insert("type".into(), t);
    }
    if let Some(Value::Array(alts)) = o.remove("anyOf") {
        let alts: Vec<Value> = alts
            .into_iter()
            .filter(|a| a.get("type") != Some(&Value::from("null")))
            .map(|a| walk(a, defs))
            .collect();
        return walk(merge_alternatives(alts, o), defs);
    }
    if let Some(Value::Array(alts)) = o.remove("oneOf") {
        match constants(&alts) {
            Some(values) => {
                o.insert("type".into(), "string".into());
                o.insert("enum".into(), Value::Array(values));
            }
            None => {
                let alts = alts.into_iter().map(|a| walk(a, defs)).collect();
                o.insert("oneOf".into(), Value::Array(alts));
            }
        }
    }
    if let Some(Value::String(d)) = o.get("description") {
        let one_line = d.split_whitespace().collect::<Vec<_>>().join(" ");
        o.insert("description".into(), one_line.into());
    }
    if let Some(Value::Object(props)) = o.remove("properties") {
        let props = props.into_iter().map(|(k, p)| (k, walk(p, defs))).collect();
        o.insert("properties".into(), Value::Object(props));
    }
    if let Some(items) = o.remove("items") {
        o.insert("items".into(), walk(items, defs));
    }
    Value::Object(o)
}

/// One alternative left: it, with the field's own keys. Several plain types
/// (`{"type": "integer"}`, `{"type": "string"}`): one `type` list. Otherwise
/// the `anyOf` stays.
fn merge_alternatives(mut alts: Vec<Value>, mut own: JsonObject) -> Value {
    if alts.len() == 1
        && let Some(Value::Object(mut only)) = alts.pop()
    {
        only.remove("description");
        only.extend(own);
        return Value::Object(only);
    }
    let plain: Option<Vec<Value>> = alts
        .iter()
        .map(|a| {
            let a = a.as_object()?;
            (a.len() == 1).then(|| a.get("type").cloned()).flatten()
        })
        .collect();
    match plain {
        Some(types) => own.insert("type".into(), Value::Array(types)),
        None => own.insert("anyOf".into(), Value::Array(alts)),
    };
    Value::Object(own)
}

/// The values of a `oneOf` made only of string constants (`const`, or a
/// one-value `enum`), in order; `None` for anything else.
fn constants(alts: &[Value]) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    for a in alts {
        if let Some(c) = a.get("const") {
            out.push(c.clone());
        } else if let Some(Value::Array(e)) = a.get("enum") {
            out.extend(e.iter().cloned());
        } else {
            return None;
        }
        if !out.last().is_some_and(Value::is_string) {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> JsonObject {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn optional_refs_and_enums_become_plain_fields() {
        let raw = obj(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Args",
            "type": "object",
            "$defs": {
                "IdArg": {"description": "long prose", "anyOf": [
                    {"type": "integer", "format": "int64"}, {"type": "string"}]},
                "Scope": {"description": "more prose", "oneOf": [
                    {"const": "machine", "type": "string", "description": "all"},
                    {"enum": ["repo"], "type": "string"}]}
            },
            "properties": {
                "id": {"$ref": "#/$defs/IdArg", "description": "The id."},
                "reply_to": {"anyOf": [{"$ref": "#/$defs/IdArg"}, {"type": "null"}],
                              "description": "Answers."},
                "scope": {"anyOf": [{"$ref": "#/$defs/Scope"}, {"type": "null"}],
                           "default": null, "description": "Who:\nall."},
                "limit": {"type": ["integer", "null"], "format": "uint32",
                          "minimum": 0, "default": null},
                "votes": {"type": "integer", "minimum": 1, "maximum": 20}
            },
            "required": ["id"]
        }));
        assert_eq!(
            Value::Object(compact(&raw)),
            json!({
                "type": "object",
                "properties": {
                    "id": {"type": ["integer", "string"], "description": "The id."},
                    "reply_to": {"type": ["integer", "string"], "description": "Answers."},
                    "scope": {"type": "string", "enum": ["machine", "repo"],
                              "description": "Who: all."},
                    "limit": {"type": "integer"},
                    "votes": {"type": "integer", "minimum": 1, "maximum": 20}
                },
                "required": ["id"]
            })
        );
    }

    #[test]
    fn a_list_or_one_string_keeps_its_items() {
        let raw = obj(json!({"type": "object", "properties": {
            "files": {"type": ["array", "string"], "items": {"type": "string"}}}}));
        assert_eq!(compact(&raw), raw);
    }
}
