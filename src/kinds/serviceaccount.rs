//! ServiceAccount: only the `default` account per namespace matters to k2d; it is
//! created with the namespace so manifests that name it apply unchanged.

use super::{ALL_VERBS, Behavior, Column, ResourceType, configmap::name_cell, typed};
use crate::api::table;
use k8s_openapi::api::core::v1::ServiceAccount;
use serde_json::Value;

pub static SERVICEACCOUNTS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    kind: "ServiceAccount",
    plural: "serviceaccounts",
    singular: "serviceaccount",
    namespaced: true,
    short_names: &["sa"],
    categories: &[],
    verbs: ALL_VERBS,
    subresources: &["token"],
    storage: "serviceaccounts",
    behavior: &ServiceAccountBehavior,
};

struct ServiceAccountBehavior;

impl Behavior for ServiceAccountBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<ServiceAccount>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<ServiceAccount>())
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    /// `printServiceAccount`: SECRETS counts the `secrets` references.
    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        let n = obj.get("secrets").and_then(Value::as_array).map_or(0, Vec::len) as i64;
        vec![name_cell(obj), Value::from(n), Value::from(table::age_of(obj, now))]
    }
}

const COLUMNS: &[Column] = &[
    table::NAME,
    Column {
        name: "Secrets",
        type_: "string",
        format: "",
        description: "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret",
        priority: 0,
    },
    table::AGE,
];
