//! ServiceAccount: only the `default` account per namespace matters to k2d; it is
//! created with the namespace so manifests that name it apply unchanged.

use super::{ALL_VERBS, Behavior, ResourceType, typed};
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
}
