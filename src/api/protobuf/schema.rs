//! The shape of a schema table entry, and the top-level kinds we can decode.
//!
//! A protobuf message carries only field numbers; the table says what each
//! number means *and* how Go's `encoding/json` would print it, because the
//! goal is the exact JSON kubectl would have sent had it not chosen protobuf.

use super::table::*;

/// How one field's payload is read and printed.
#[derive(Clone, Copy)]
pub enum Ty {
    Str,
    /// `[]byte`: base64 in JSON.
    Bytes,
    I32,
    I64,
    Bool,
    /// `metav1.Time` {seconds=1, nanos=2}: RFC 3339 in whole seconds; empty is `null`.
    Time,
    /// `metav1.MicroTime`: RFC 3339 with 6 fractional digits.
    MicroTime,
    /// `intstr.IntOrString` {type=1, intVal=2, strVal=3}: a JSON number or string.
    IntOrStr,
    /// `resource.Quantity` {string=1}: its canonical string.
    Qty,
    /// `runtime.RawExtension` / `metav1.FieldsV1` {raw=1}: bytes that are themselves JSON.
    Raw,
    /// authentication/authorization `ExtraValue` {items=1}: a plain `[]string` in Go.
    StrList,
    Msg(&'static Message),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Card {
    One,
    List,
    /// `map<string, V>`: entries {key=1, value=2}; Go prints keys sorted.
    Map,
}

/// When Go's JSON encoder prints a field; this is what makes proto2
/// "present but zero" come out right.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Presence {
    /// A value field tagged `omitempty` (the common case): zero is left out.
    OmitEmpty,
    /// A pointer tagged `omitempty`: printed whenever it was sent, zero included
    /// (`replicas: 0`, `automountServiceAccountToken: false`).
    Ptr,
    /// A value field Go always prints (no `omitempty`, or a struct, which
    /// `omitempty` never drops): the zero value when it was not sent.
    Req,
    /// A slice, map or pointer without `omitempty`: `null` when not sent.
    Nullable,
    /// An embedded struct (`json:",inline"`): its fields join the parent's.
    Inline,
}

pub struct Field {
    pub num: u32,
    /// The Go JSON name; empty for inline fields.
    pub name: &'static str,
    pub ty: Ty,
    pub card: Card,
    pub presence: Presence,
}

pub struct Message {
    /// The Go type name, for error messages.
    pub name: &'static str,
    /// In Go struct order, which is the order Go prints them.
    pub fields: &'static [Field],
}

impl Message {
    pub fn field(&self, num: u32) -> Option<(usize, &'static Field)> {
        self.fields.iter().enumerate().find(|(_, f)| f.num == num)
    }
}

const fn field(num: u32, name: &'static str, ty: Ty, card: Card) -> Field {
    Field { num, name, ty, card, presence: Presence::OmitEmpty }
}

pub const fn one(num: u32, name: &'static str, ty: Ty) -> Field {
    field(num, name, ty, Card::One)
}

pub const fn list(num: u32, name: &'static str, ty: Ty) -> Field {
    field(num, name, ty, Card::List)
}

pub const fn map(num: u32, name: &'static str, ty: Ty) -> Field {
    field(num, name, ty, Card::Map)
}

impl Field {
    const fn with(self, presence: Presence) -> Field {
        Field { presence, ..self }
    }
    pub const fn ptr(self) -> Field {
        self.with(Presence::Ptr)
    }
    pub const fn req(self) -> Field {
        self.with(Presence::Req)
    }
    pub const fn nullable(self) -> Field {
        self.with(Presence::Nullable)
    }
    pub const fn inline(self) -> Field {
        self.with(Presence::Inline)
    }
}

/// Top-level objects a protobuf body may carry: (apiVersion, kind, message).
/// Kinds k2d does not serve yet are listed too, so their handlers get JSON the
/// day they land.
pub static ROOTS: &[(&str, &str, &Message)] = &[
    ("v1", "Namespace", &NAMESPACE),
    ("v1", "ConfigMap", &CONFIG_MAP),
    ("v1", "Secret", &SECRET),
    ("v1", "ServiceAccount", &SERVICE_ACCOUNT),
    ("v1", "Event", &EVENT),
    ("v1", "Node", &NODE),
    ("v1", "Pod", &POD),
    ("v1", "Service", &SERVICE),
    ("v1", "PersistentVolumeClaim", &PERSISTENT_VOLUME_CLAIM),
    ("v1", "Endpoints", &ENDPOINTS),
    ("v1", "PodTemplate", &POD_TEMPLATE),
    ("v1", "ReplicationController", &REPLICATION_CONTROLLER),
    ("v1", "LimitRange", &LIMIT_RANGE),
    ("v1", "ResourceQuota", &RESOURCE_QUOTA),
    ("v1", "Binding", &BINDING),
    ("apps/v1", "Deployment", &DEPLOYMENT),
    ("apps/v1", "ReplicaSet", &REPLICA_SET),
    ("apps/v1", "StatefulSet", &STATEFUL_SET),
    ("apps/v1", "DaemonSet", &DAEMON_SET),
    ("batch/v1", "Job", &JOB),
    ("batch/v1", "CronJob", &CRON_JOB),
    ("events.k8s.io/v1", "Event", &EVENTS_EVENT),
    ("autoscaling/v1", "Scale", &SCALE),
    ("authentication.k8s.io/v1", "TokenRequest", &TOKEN_REQUEST),
    ("authentication.k8s.io/v1", "SelfSubjectReview", &SELF_SUBJECT_REVIEW),
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview", &SELF_SUBJECT_ACCESS_REVIEW),
    ("policy/v1", "Eviction", &EVICTION),
    ("policy/v1", "PodDisruptionBudget", &POD_DISRUPTION_BUDGET),
    ("rbac.authorization.k8s.io/v1", "Role", &ROLE),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", &CLUSTER_ROLE),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", &ROLE_BINDING),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", &CLUSTER_ROLE_BINDING),
    ("networking.k8s.io/v1", "Ingress", &INGRESS),
    ("scheduling.k8s.io/v1", "PriorityClass", &PRIORITY_CLASS),
    // DeleteOptions is served under every group version.
    ("meta.k8s.io/v1", "DeleteOptions", &DELETE_OPTIONS),
    ("v1", "DeleteOptions", &DELETE_OPTIONS),
];

/// The schema for a top-level kind. An empty `api_version` matches any, so a
/// body without type information can still be read as the kind the URL names.
pub fn root(api_version: &str, kind: &str) -> Option<&'static Message> {
    ROOTS
        .iter()
        .find(|(v, k, _)| *k == kind && (api_version.is_empty() || *v == api_version))
        .map(|(_, _, m)| *m)
}
