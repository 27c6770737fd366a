//! The kinds k2d serves: one module per kind, each the single place where that
//! kind's behaviour lives (defaults, validation, Table columns, field selectors).
//!
//! The API machinery in `api/` is written once against [`ResourceType`] and the
//! [`Behavior`] trait; adding a kind means adding a module here and a line in
//! [`registry`].

use crate::api::error::Cause;
use serde_json::Value;
use std::borrow::Cow;

pub mod configmap;
pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod event;
pub mod namespace;
pub mod node;
pub mod persistentvolume;
pub mod persistentvolumeclaim;
pub mod pod;
pub mod replicaset;
pub mod secret;
pub mod service;
pub mod serviceaccount;
pub mod storageclass;
pub mod typed;

/// A Table column definition (`meta.k8s.io/v1` `TableColumnDefinition`).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    /// `string`, `integer`, `date`, ...
    pub type_: &'static str,
    /// `name`, `date`, or empty.
    pub format: &'static str,
    pub description: &'static str,
    /// 0 = always shown, 1 = only with `-o wide`.
    pub priority: u8,
}

/// Per-kind behaviour. Every method has a default that suits a plain data kind,
/// so a kind overrides only what makes it special.
pub trait Behavior: Sync + Send {
    /// Decode a request body through the typed k8s-openapi struct: checks value
    /// types, drops unknown fields, and reports them (`metadata.bogus`, `spec`) so
    /// the caller can honour `fieldValidation`. Returns the canonical object.
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String>;

    /// Server-side defaults applied on create (and on update where Kubernetes does).
    fn default(&self, _obj: &mut Value) {}

    /// On update, before [`Behavior::default`]: values the server filled in
    /// that the new object leaves unset keep their stored value (a Service's
    /// cluster IP and node ports).
    fn carry_over(&self, _obj: &mut Value, _old: &Value) {}

    /// Validation beyond types: returns the field causes of a 422.
    fn validate(&self, _obj: &Value, _old: Option<&Value>) -> Vec<Cause> {
        Vec::new()
    }

    /// Whether `new` differs from `old` in what bumps `metadata.generation`.
    /// Kinds without a spec keep generation unset.
    fn has_generation(&self) -> bool {
        false
    }

    /// Fields that make up the "spec" for generation purposes.
    fn spec_fields(&self) -> &'static [&'static str] {
        &["spec"]
    }

    /// Whether the `status` field is only writable through the status subresource.
    fn has_status_subresource(&self) -> bool {
        false
    }

    /// Every Table column, `Name` included (Events do not start with it).
    fn columns(&self) -> &'static [Column] {
        &[]
    }

    /// Cells for [`Behavior::columns`], in the same order (typed: integers stay
    /// integers, ages are strings like `46s` computed at `now`).
    fn row(&self, _obj: &Value, _now: std::time::SystemTime) -> Vec<Value> {
        Vec::new()
    }

    /// Whether DELETE answers with the deleted object rather than a `Status`
    /// (kube-apiserver's `ReturnDeletedObject`).
    fn returns_deleted_object(&self) -> bool {
        false
    }

    /// Changes made when deletion starts on an object that is not removed at
    /// once (Namespace turns `Terminating`).
    fn on_delete(&self, _obj: &mut Value) {}

    /// Called once a create/update/patch attempt is over, whatever happened
    /// (stored, dry run, refused): what [`Behavior::default`] or
    /// [`Behavior::validate`] reserved for it (a Service's node ports) is
    /// released, the stored object now being the record.
    fn write_done(&self, _namespace: &str, _name: &str) {}

    /// Changes made only when an object is created, after [`Behavior::default`]
    /// (a Pod's status is reset to `Pending` with its QoS class).
    fn on_create(&self, _obj: &mut Value) {}

    /// Graceful deletion: `Some(seconds)` when DELETE only marks the object
    /// (`deletionTimestamp` = now + seconds, `deletionGracePeriodSeconds`) and
    /// something else removes it later; `Some(0)` when the period works out to
    /// zero; `None` (the default) deletes at once. `requested` is
    /// `DeleteOptions.gracePeriodSeconds`.
    fn grace_period(&self, _obj: &Value, _requested: Option<i64>) -> Option<i64> {
        None
    }

    /// `Some(reason)` when objects in `namespace` may not be created, updated
    /// or patched through the API (they mirror something k2d does not own);
    /// deletion stays allowed.
    fn read_only(&self, _namespace: &str) -> Option<&'static str> {
        None
    }

    /// The stored form of an object written through this resource. Resources
    /// that are views of another (events.k8s.io Events over core Events)
    /// convert here; everything else is stored as written.
    fn to_storage(&self, obj: Value) -> Value {
        obj
    }

    /// The object as this resource presents it, from its stored form.
    fn present<'a>(&self, obj: &'a Value) -> Cow<'a, Value> {
        Cow::Borrowed(obj)
    }

    /// How `metadata.name` is validated.
    fn name_rule(&self) -> NameRule {
        NameRule::Subdomain
    }

    /// Value of a kind-specific field selector (`status.phase`, `type`, ...);
    /// `None` means the field is not supported for this kind.
    fn field(&self, _obj: &Value, _field: &str) -> Option<String> {
        None
    }

    /// Every field selector label the kind accepts, `metadata.*` included, when
    /// the kind registers its own field label conversion in Kubernetes (then an
    /// unknown label is "field label not supported: x"). `None` is the generic
    /// conversion: only `metadata.name` and `metadata.namespace`.
    fn field_labels(&self) -> Option<&'static [&'static str]> {
        None
    }

    /// The kind's OpenAPI schema as a `$ref` registered in `g` (k8s-openapi's
    /// schemars impls name definitions like the real server, e.g.
    /// `io.k8s.api.core.v1.ConfigMap`). `None` publishes a permissive object schema.
    fn schema(&self, _g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        None
    }

    /// The `status.selector` of the kind's `scale` subresource (an
    /// `autoscaling/v1` Scale over `spec.replicas`/`status.replicas`);
    /// `None` for kinds that cannot scale.
    fn scale_selector(&self, _obj: &Value) -> Option<String> {
        None
    }
}

/// The name formats Kubernetes validates object names against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain (most kinds).
    Subdomain,
    /// RFC 1123 label (Namespaces, Services).
    Label,
}

/// A resource type as served over the API.
pub struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    /// Subresources served under `<plural>/<sub>` (`status`, `log`, `scale`...).
    pub subresources: &'static [&'static str],
    /// Where objects are stored: resources that are views of another (events.k8s.io
    /// Events over core Events) name the stored resource here.
    pub storage: &'static str,
    pub behavior: &'static dyn Behavior,
}

impl ResourceType {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `configmaps` or `deployments.apps`: how errors name the resource.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}

/// Verbs of an ordinary namespaced or cluster-scoped data kind.
pub const ALL_VERBS: &[&str] =
    &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/// Every resource type k2d serves, in discovery order.
pub fn registry() -> &'static [&'static ResourceType] {
    static ALL: &[&ResourceType] = &[
        &configmap::CONFIGMAPS,
        &event::EVENTS,
        &namespace::NAMESPACES,
        &node::NODES,
        &pod::PODS,
        &secret::SECRETS,
        &serviceaccount::SERVICEACCOUNTS,
        &persistentvolumeclaim::PERSISTENTVOLUMECLAIMS,
        &persistentvolume::PERSISTENTVOLUMES,
        &deployment::DEPLOYMENTS,
        &replicaset::REPLICASETS,
        &service::SERVICES,
        &endpoints::ENDPOINTS,
        &event::EVENTS_K8S_IO,
        &endpointslice::ENDPOINTSLICES,
        &storageclass::STORAGECLASSES,
    ];
    ALL
}

/// Look a resource up by group, version and plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    registry()
        .iter()
        .copied()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Helpers for reading fields of an untyped object.
pub fn str_at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = obj;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}
