//! Test helper: a kind's Table rows against the recorded kube-apiserver
//! tables in the reference corpus (every cell but the age, which depends on
//! when the recording ran). Skips quietly when the corpus is absent.

use super::ResourceType;
use crate::api::table::columns as table_columns_for_test;
use serde_json::Value;

const REF: &str = "/work/shared/reference/resources";

fn read(path: &str) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

pub fn reference_rows(rt: &'static ResourceType, dir: &str) {
    let (Some(table), Some(list)) =
        (read(&format!("{REF}/{dir}/list-table.json")), read(&format!("{REF}/{dir}/list.json")))
    else {
        return;
    };
    let names: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let ours: Vec<&str> = table_columns_for_test(rt).iter().map(|c| c.name).collect();
    assert_eq!(ours, names, "{dir} columns");
    for (c, want) in
        table_columns_for_test(rt).iter().zip(table["columnDefinitions"].as_array().unwrap())
    {
        assert_eq!(c.description, want["description"].as_str().unwrap(), "{dir} {}", c.name);
        assert_eq!(c.priority as i64, want["priority"].as_i64().unwrap(), "{dir} {}", c.name);
        assert_eq!(c.type_, want["type"].as_str().unwrap(), "{dir} {}", c.name);
    }
    let age = names.iter().position(|n| *n == "Age").unwrap();
    let items = list["items"].as_array().unwrap();
    for (obj, row) in items.iter().zip(table["rows"].as_array().unwrap()) {
        let mut got = rt.behavior.row(obj, std::time::SystemTime::now());
        let mut want = row["cells"].as_array().unwrap().clone();
        got[age] = Value::Null;
        want[age] = Value::Null;
        assert_eq!(got, want, "{dir} row");
    }
}
