//! Decoding untyped request bodies through k8s-openapi's typed structs.
//!
//! A round trip through the typed struct is the cheapest faithful check of value
//! types, and comparing the round trip with the input finds the unknown fields
//! kube-apiserver's strict decoder would name. Keeping every typed
//! (de)serialisation in this module keeps the serde monomorphisation (and its
//! compile time) in one place.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// A body decoded through its typed struct.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The canonical object (unknown fields dropped).
    pub object: Value,
    /// Dotted paths of unknown fields, as kube-apiserver names them (`metadata.bogus`).
    pub unknown: Vec<String>,
}

/// Decode `obj` as `T`, returning the canonical form and the unknown fields.
pub fn decode<T: DeserializeOwned + Serialize>(obj: &Value) -> Result<Decoded, String> {
    let typed: T = serde_json::from_value(obj.clone()).map_err(|e| e.to_string())?;
    let object = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    let mut unknown = Vec::new();
    find_unknown(obj, &object, "", &mut unknown);
    Ok(Decoded { object, unknown })
}

/// Fields present in `input` but absent from `canonical`. Null inputs are not
/// unknown (they decode to "unset"). Arrays are compared element by element.
fn find_unknown(input: &Value, canonical: &Value, path: &str, out: &mut Vec<String>) {
    match (input, canonical) {
        (Value::Object(i), Value::Object(c)) => {
            for (k, v) in i {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match c.get(k) {
                    Some(cv) => find_unknown(v, cv, &p, out),
                    None if v.is_null() => {}
                    None => out.push(p),
                }
            }
        }
        (Value::Array(i), Value::Array(c)) => {
            for (n, (iv, cv)) in i.iter().zip(c.iter()).enumerate() {
                find_unknown(iv, cv, &format!("{path}[{n}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_named_with_their_path() {
        let d = decode::<ConfigMap>(&json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "bogusMeta": 1},
            "data": {"k": "v"},
            "spec": {"x": 1}
        }))
        .unwrap();
        assert_eq!(d.unknown, vec!["metadata.bogusMeta".to_string(), "spec".to_string()]);
        assert_eq!(d.object["data"]["k"], "v");
    }

    #[test]
    fn empty_known_fields_are_not_unknown() {
        let d = decode::<ConfigMap>(
            &json!({"metadata": {"name": "a", "labels": {}}, "data": {}, "spec": {}}),
        )
        .unwrap();
        assert_eq!(d.unknown, vec!["spec".to_string()]);
    }

    #[test]
    fn wrong_types_are_errors() {
        assert!(decode::<ConfigMap>(&json!({"data": {"k": 1}})).is_err());
    }
}
