//! RFC 6902 JSON patch and RFC 7386 JSON merge patch, with kube-apiserver's error shapes.

use serde_json::Value;

use crate::api::error::{ApiError, ApiResult, Details};

/// kube-apiserver refuses JSON patches longer than this (`maxJSONPatchOperations`), so a
/// client cannot make one request cost unbounded work.
const MAX_OPERATIONS: usize = 10_000;

/// The bare 422 kube-apiserver sends for any JSON patch that does not apply (failed `test`,
/// missing path...): the reason stays server-side, as in
/// `errors/422-json-patch-test-failed.json`.
pub fn rejected() -> ApiError {
    ApiError::new(422, "Invalid", "the server rejected our request due to an error in our request")
        .with_details(Details::default())
}

/// Applies an RFC 6902 patch. A body that is not a JSON array of objects is a 400 (as
/// Go's decoder words it); anything wrong inside an operation (unknown op, missing path
/// or value) or an operation that does not apply is the bare 422 of [`rejected`], because
/// kube-apiserver only finds those while applying.
pub fn json_patch(original: &Value, body: &[u8]) -> ApiResult<Value> {
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let ops = match raw {
        Value::Array(ops) if ops.iter().all(Value::is_object) => ops,
        Value::Array(_) => return Err(cannot_unmarshal("array", "jsonpatch.Operation")),
        other => return Err(cannot_unmarshal(go_kind(&other), "jsonpatch.Patch")),
    };
    if ops.len() > MAX_OPERATIONS {
        return Err(ApiError::unprocessable(format!(
            "The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {}",
            ops.len()
        )));
    }
    let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops)).map_err(|e| {
        log::debug!("json patch operation rejected: {e}");
        rejected()
    })?;
    let mut doc = original.clone();
    json_patch::patch(&mut doc, &patch.0).map_err(|e| {
        log::debug!("json patch rejected: {e}");
        rejected()
    })?;
    Ok(doc)
}

/// Go's `json: cannot unmarshal <kind> into Go value of type <type>` as a 400.
pub(crate) fn cannot_unmarshal(kind: &str, go_type: &str) -> ApiError {
    ApiError::bad_request(format!("json: cannot unmarshal {kind} into Go value of type {go_type}"))
}

/// The JSON kind names Go's decoder uses in its errors.
pub(crate) fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Applies an RFC 7386 merge patch. A body that is not JSON is the 400 evanphx/json-patch
/// reports to kube-apiserver.
pub fn merge_patch(original: &Value, body: &[u8]) -> ApiResult<Value> {
    let patch: Value =
        serde_json::from_slice(body).map_err(|_| ApiError::bad_request("Invalid JSON Patch"))?;
    let mut doc = original.clone();
    json_patch::merge(&mut doc, &patch);
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn failed_test_op_is_the_bare_422() {
        let cm = json!({"data": {"APP_MODE": "production"}});
        let body = include_bytes!("testdata/req-json-patch-test-fails.json");
        let err = json_patch(&cm, body).unwrap_err();
        let want = load(include_str!("testdata/422-json-patch-test-failed.json"));
        assert_eq!(err.to_status(), want);
    }

    #[test]
    fn missing_path_is_422_and_garbage_is_400() {
        let doc = json!({"a": 1});
        let e = json_patch(&doc, br#"[{"op":"remove","path":"/nope"}]"#).unwrap_err();
        assert_eq!(e.code, 422);
        let e = json_patch(&doc, b"{not json").unwrap_err();
        assert_eq!(e.code, 400);
        assert!(e.details.is_none());
        let e = json_patch(&doc, br#"{"op":"add"}"#).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
        );
        let e = json_patch(&doc, br#"[{"op":"frobnicate","path":"/a"}]"#).unwrap_err();
        assert_eq!(e, rejected());
        let e = json_patch(&doc, br#"[{"op":"add","path":"/a"}]"#).unwrap_err();
        assert_eq!(e, rejected());
    }

    #[test]
    fn reference_json_patch_with_escaped_slash() {
        let before = load(include_str!("testdata/03-merge-patch.response.json"));
        let body = include_bytes!("testdata/04-json-patch.request.json");
        let got = json_patch(&before, body).unwrap();
        let want = load(include_str!("testdata/04-json-patch.response.json"));
        assert_eq!(got["spec"]["replicas"], 3);
        assert_eq!(got["metadata"]["annotations"]["example.com/owner"], "team-a");
        assert_eq!(got["spec"]["template"], before["spec"]["template"]);
        assert_eq!(got["metadata"]["labels"], want["metadata"]["labels"]);
    }

    #[test]
    fn merge_patch_matches_reference() {
        let before = load(include_str!("testdata/02-strategic-merge-delete-env.response.json"));
        let body = include_bytes!("testdata/03-merge-patch.request.json");
        let got = merge_patch(&before, body).unwrap();
        let want = load(include_str!("testdata/03-merge-patch.response.json"));
        assert_eq!(got["metadata"]["labels"], want["metadata"]["labels"]);
        assert_eq!(got["spec"]["template"]["metadata"], want["spec"]["template"]["metadata"]);
        assert_eq!(got["spec"]["revisionHistoryLimit"], 5);
    }

    #[test]
    fn merge_patch_null_deletes_and_lists_replace() {
        let doc = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        let got = merge_patch(&doc, br#"{"a": {"b": null}, "l": [3]}"#).unwrap();
        assert_eq!(got, json!({"a": {"c": 2}, "l": [3]}));
        assert_eq!(merge_patch(&doc, b"nope").unwrap_err().code, 400);
    }
}
