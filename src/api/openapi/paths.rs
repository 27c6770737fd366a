//! The REST operations of one group-version, in a neutral form rendered both as
//! OpenAPI 3.0 (`/openapi/v3/...`) and Swagger 2.0 (`/openapi/v2`).
//!
//! Operation ids, actions, parameters and response codes follow kube-apiserver's
//! generator: clients key off them (kubectl finds `fieldValidation` among the
//! PATCH parameters of an operation whose `x-kubernetes-group-version-kind`
//! matches the object it is about to send).

use super::defs::{
    API_RESOURCE_LIST, DELETE_OPTIONS, Defs, Gvk, PATCH, REF_PREFIX, STATUS, WATCH_EVENT,
};
use crate::kinds::ResourceType;
use serde_json::{Map, Value, json};

/// What an operation answers with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Media {
    /// JSON, YAML, protobuf.
    Object,
    /// [`Media::Object`] plus the two watch stream types.
    Stream,
    /// `text/plain` first (logs).
    Text,
    /// `*/*` (connect subresources).
    Any,
}

impl Media {
    fn v3(self) -> &'static [&'static str] {
        match self {
            Media::Object => {
                &["application/json", "application/vnd.kubernetes.protobuf", "application/yaml"]
            }
            Media::Stream => &[
                "application/json",
                "application/json;stream=watch",
                "application/vnd.kubernetes.protobuf",
                "application/vnd.kubernetes.protobuf;stream=watch",
                "application/yaml",
            ],
            Media::Text => &[
                "application/json",
                "application/vnd.kubernetes.protobuf",
                "application/yaml",
                "text/plain",
            ],
            Media::Any => &["*/*"],
        }
    }

    fn v2(self) -> &'static [&'static str] {
        match self {
            Media::Object => {
                &["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
            }
            Media::Stream => &[
                "application/json",
                "application/yaml",
                "application/vnd.kubernetes.protobuf",
                "application/json;stream=watch",
                "application/vnd.kubernetes.protobuf;stream=watch",
            ],
            Media::Text => &[
                "text/plain",
                "application/json",
                "application/yaml",
                "application/vnd.kubernetes.protobuf",
            ],
            Media::Any => &["*/*"],
        }
    }
}

const PATCH_TYPES_V3: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];
const PATCH_TYPES_V2: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

/// A response body: a definition or a plain string.
#[derive(Clone)]
enum Body {
    Def(String),
    Text,
}

impl Body {
    fn schema(&self, prefix: &str) -> Value {
        match self {
            Body::Def(d) => json!({"$ref": format!("{prefix}{d}")}),
            Body::Text => json!({"type": "string"}),
        }
    }
}

#[derive(Clone)]
struct Param {
    name: &'static str,
    in_path: bool,
    ty: &'static str,
    description: String,
}

fn q(name: &'static str) -> Param {
    let (ty, description) = query_doc(name);
    Param { name, in_path: false, ty, description: description.to_string() }
}

struct Request {
    body: Body,
    types: &'static [&'static str],
    required: bool,
}

struct Op {
    method: &'static str,
    id: String,
    description: String,
    action: &'static str,
    gvk: Gvk,
    params: Vec<Param>,
    request: Option<Request>,
    /// Response codes besides 200 that carry the same body.
    codes: &'static [(u16, &'static str)],
    body: Body,
    media: Media,
}

struct PathItem {
    path: String,
    ops: Vec<Op>,
}

const OK: &[(u16, &str)] = &[(200, "OK")];
const OK_CREATED: &[(u16, &str)] = &[(200, "OK"), (201, "Created")];
const OK_CREATED_ACCEPTED: &[(u16, &str)] = &[(200, "OK"), (201, "Created"), (202, "Accepted")];
const OK_ACCEPTED: &[(u16, &str)] = &[(200, "OK"), (202, "Accepted")];

const LIST_PARAMS: &[&str] = &[
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
];
const DELETECOLLECTION_PARAMS: &[&str] = &[
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "labelSelector",
    "limit",
    "orphanDependents",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
];
const DELETE_PARAMS: &[&str] = &[
    "dryRun",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "orphanDependents",
    "propagationPolicy",
];
const WRITE_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation"];
const PATCH_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation", "force"];
const LOG_PARAMS: &[&str] = &[
    "container",
    "follow",
    "insecureSkipTLSVerifyBackend",
    "limitBytes",
    "previous",
    "sinceSeconds",
    "stream",
    "tailLines",
    "timestamps",
];

/// Kinds whose DELETE answers with the object rather than a Status (graceful
/// deletion or finalizers in Kubernetes' registry), by (group, kind).
const DELETE_RETURNS_OBJECT: &[(&str, &str)] = &[
    ("", "PersistentVolume"),
    ("", "PersistentVolumeClaim"),
    ("", "Pod"),
    ("", "PodTemplate"),
    ("", "ResourceQuota"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
];

/// `core_v1`, `events_v1`, `rbacAuthorization_v1`: kube-apiserver's tag.
fn tag(group: &str, version: &str) -> String {
    format!("{}_{version}", group_word(group, false))
}

/// `core`/`Core`, `events`, `rbacAuthorization`: the group as one camel-case word.
fn group_word(group: &str, upper_first: bool) -> String {
    let g = if group.is_empty() { "core" } else { group.strip_suffix(".k8s.io").unwrap_or(group) };
    let mut out = String::new();
    for (i, part) in g.split('.').enumerate() {
        if i == 0 && !upper_first {
            out.push_str(part);
        } else {
            out.push_str(&capitalize(part));
        }
    }
    out
}

/// `a ConfigMap`, `an Event`.
fn a(kind: &str) -> String {
    let article = if kind.starts_with(['A', 'E', 'I', 'O', 'U']) { "an" } else { "a" };
    format!("{article} {kind}")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Prefix of a group-version's paths: `/api/v1` or `/apis/apps/v1`.
pub(crate) fn gv_prefix(group: &str, version: &str) -> String {
    if group.is_empty() { format!("/api/{version}") } else { format!("/apis/{group}/{version}") }
}

/// Every path of one group-version.
fn path_items(
    group: &str,
    version: &str,
    members: &[(&ResourceType, &str)],
    defs: &Defs,
) -> Vec<PathItem> {
    let prefix = gv_prefix(group, version);
    let gv_id = format!("{}{}", group_word(group, true), capitalize(version));
    let mut items = vec![PathItem {
        path: format!("{prefix}/"),
        ops: vec![Op {
            method: "get",
            id: format!("get{gv_id}APIResources"),
            description: "get available resources".into(),
            action: "",
            gvk: Gvk::new("", "", ""),
            params: Vec::new(),
            request: None,
            codes: OK,
            body: Body::Def(API_RESOURCE_LIST.into()),
            media: Media::Object,
        }],
    }];
    for &(rt, root) in members {
        resource_items(rt, root, &prefix, &gv_id, defs, &mut items);
    }
    items.sort_by(|a, b| a.path.cmp(&b.path));
    items
}

fn resource_items(
    rt: &ResourceType,
    root: &str,
    prefix: &str,
    gv_id: &str,
    defs: &Defs,
    items: &mut Vec<PathItem>,
) {
    let kind = rt.kind;
    let gvk = Gvk::new(rt.group, rt.version, kind);
    let has = |v: &str| rt.verbs.contains(&v);
    let (ns_path, ns_id) =
        if rt.namespaced { ("/namespaces/{namespace}", "Namespaced") } else { ("", "") };
    let obj = Body::Def(root.to_string());
    let list = Body::Def(format!("{root}List"));
    let ns_params = |extra: &[&'static str]| {
        let mut p: Vec<Param> = extra.iter().map(|n| q(n)).collect();
        p.push(q("pretty"));
        if rt.namespaced {
            p.push(path_param(
                "namespace",
                "object name and auth scope, such as for teams and projects".into(),
            ));
        }
        p
    };
    let name_param = || path_param("name", format!("name of the {kind}"));
    let op =
        |method, id: String, description: String, action, params, request, codes, body, media| Op {
            method,
            id,
            description,
            action,
            gvk: gvk.clone(),
            params,
            request,
            codes,
            body,
            media,
        };
    let kind_body = |required| Some(Request { body: obj.clone(), types: &["*/*"], required });
    let patch_body =
        || Some(Request { body: Body::Def(PATCH.into()), types: PATCH_TYPES_V3, required: true });
    let delete_body = || {
        Some(Request { body: Body::Def(DELETE_OPTIONS.into()), types: &["*/*"], required: false })
    };

    // Collection.
    let mut ops = Vec::new();
    if has("list") {
        ops.push(op(
            "get",
            format!("list{gv_id}{ns_id}{kind}"),
            format!("list or watch objects of kind {kind}"),
            "list",
            ns_params(LIST_PARAMS),
            None,
            OK,
            list.clone(),
            Media::Stream,
        ));
    }
    if has("create") {
        ops.push(op(
            "post",
            format!("create{gv_id}{ns_id}{kind}"),
            format!("create {}", a(kind)),
            "post",
            ns_params(WRITE_PARAMS),
            kind_body(true),
            OK_CREATED_ACCEPTED,
            obj.clone(),
            Media::Object,
        ));
    }
    if has("deletecollection") {
        ops.push(op(
            "delete",
            format!("delete{gv_id}Collection{ns_id}{kind}"),
            format!("delete collection of {kind}"),
            "deletecollection",
            ns_params(DELETECOLLECTION_PARAMS),
            delete_body(),
            OK,
            Body::Def(STATUS.into()),
            Media::Object,
        ));
    }
    push_item(items, format!("{prefix}{ns_path}/{}", rt.plural), ops);

    // One object.
    let with_name = |extra: &[&'static str]| {
        let mut p = ns_params(extra);
        p.push(name_param());
        p
    };
    let mut ops = Vec::new();
    if has("get") {
        ops.push(op(
            "get",
            format!("read{gv_id}{ns_id}{kind}"),
            format!("read the specified {kind}"),
            "get",
            with_name(&[]),
            None,
            OK,
            obj.clone(),
            Media::Object,
        ));
    }
    if has("update") {
        ops.push(op(
            "put",
            format!("replace{gv_id}{ns_id}{kind}"),
            format!("replace the specified {kind}"),
            "put",
            with_name(WRITE_PARAMS),
            kind_body(true),
            OK_CREATED,
            obj.clone(),
            Media::Object,
        ));
    }
    if has("delete") {
        let returns_object = DELETE_RETURNS_OBJECT.contains(&(rt.group, kind));
        ops.push(op(
            "delete",
            format!("delete{gv_id}{ns_id}{kind}"),
            format!("delete {}", a(kind)),
            "delete",
            with_name(DELETE_PARAMS),
            delete_body(),
            OK_ACCEPTED,
            if returns_object { obj.clone() } else { Body::Def(STATUS.into()) },
            Media::Object,
        ));
    }
    if has("patch") {
        ops.push(op(
            "patch",
            format!("patch{gv_id}{ns_id}{kind}"),
            format!("partially update the specified {kind}"),
            "patch",
            with_name(PATCH_PARAMS),
            patch_body(),
            OK_CREATED,
            obj.clone(),
            Media::Object,
        ));
    }
    push_item(items, format!("{prefix}{ns_path}/{}/{{name}}", rt.plural), ops);

    // Across namespaces.
    if rt.namespaced && has("list") {
        let mut p: Vec<Param> = LIST_PARAMS.iter().map(|n| q(n)).collect();
        p.push(q("pretty"));
        let o = op(
            "get",
            format!("list{gv_id}{kind}ForAllNamespaces"),
            format!("list or watch objects of kind {kind}"),
            "list",
            p,
            None,
            OK,
            list.clone(),
            Media::Stream,
        );
        push_item(items, format!("{prefix}/{}", rt.plural), vec![o]);
    }

    // The deprecated watch paths, still served by Kubernetes.
    if has("watch") {
        let watch_event = Body::Def(WATCH_EVENT.into());
        let watch_doc = "deprecated: use the 'watch' parameter with a list operation instead";
        let o = op(
            "get",
            format!("watch{gv_id}{ns_id}{kind}"),
            format!(
                "watch changes to an object of kind {kind}. {watch_doc}, filtered to a single item with the 'fieldSelector' parameter."
            ),
            "watch",
            with_name(LIST_PARAMS),
            None,
            OK,
            watch_event.clone(),
            Media::Stream,
        );
        push_item(items, format!("{prefix}/watch{ns_path}/{}/{{name}}", rt.plural), vec![o]);
        let o = op(
            "get",
            format!("watch{gv_id}{ns_id}{kind}List"),
            format!("watch individual changes to a list of {kind}. {watch_doc}."),
            "watchlist",
            ns_params(LIST_PARAMS),
            None,
            OK,
            watch_event.clone(),
            Media::Stream,
        );
        push_item(items, format!("{prefix}/watch{ns_path}/{}", rt.plural), vec![o]);
        if rt.namespaced {
            let mut p: Vec<Param> = LIST_PARAMS.iter().map(|n| q(n)).collect();
            p.push(q("pretty"));
            let o = op(
                "get",
                format!("watch{gv_id}{kind}ListForAllNamespaces"),
                format!("watch individual changes to a list of {kind}. {watch_doc}."),
                "watchlist",
                p,
                None,
                OK,
                watch_event,
                Media::Stream,
            );
            push_item(items, format!("{prefix}/watch/{}", rt.plural), vec![o]);
        }
    }

    // Subresources.
    for &sub in rt.subresources {
        let sub_id = capitalize(sub);
        let path = format!("{prefix}{ns_path}/{}/{{name}}/{sub}", rt.plural);
        let mut ops = Vec::new();
        let special = defs.sub_kinds.get(sub);
        match sub {
            "log" => ops.push(op(
                "get",
                format!("read{gv_id}{ns_id}{kind}Log"),
                format!("read log of the specified {kind}"),
                "get",
                with_name(LOG_PARAMS),
                None,
                OK,
                Body::Text,
                Media::Text,
            )),
            "exec" | "attach" | "portforward" | "proxy" => {
                let (options, params): (&str, &[&'static str]) = match sub {
                    "exec" => {
                        ("Exec", &["command", "container", "stderr", "stdin", "stdout", "tty"])
                    }
                    "attach" => ("Attach", &["container", "stderr", "stdin", "stdout", "tty"]),
                    "portforward" => ("PortForward", &["ports"]),
                    _ => ("Proxy", &["path"]),
                };
                let methods: &[&str] = if sub == "proxy" {
                    &["get", "put", "post", "delete", "options", "head", "patch"]
                } else {
                    &["get", "post"]
                };
                for &m in methods {
                    let mut p: Vec<Param> = params.iter().map(|n| q(n)).collect();
                    p.push(name_param());
                    if rt.namespaced {
                        p.push(path_param(
                            "namespace",
                            "object name and auth scope, such as for teams and projects".into(),
                        ));
                    }
                    let mut o = op(
                        m,
                        format!("connect{gv_id}{}{ns_id}{kind}{sub_id}", capitalize(m)),
                        format!("connect {} requests to {sub} of {kind}", m.to_uppercase()),
                        "connect",
                        p,
                        None,
                        OK,
                        Body::Text,
                        Media::Any,
                    );
                    o.gvk = Gvk::new(rt.group, rt.version, &format!("{kind}{options}Options"));
                    ops.push(o);
                }
            }
            "token" | "binding" | "eviction" => {
                let (body, gvk) = match special {
                    Some(s) => (Body::Def(s.definition.clone()), s.gvk.clone()),
                    None => (obj.clone(), gvk.clone()),
                };
                let mut o = op(
                    "post",
                    format!("create{gv_id}{ns_id}{kind}{sub_id}"),
                    format!("create {sub} of {}", a(kind)),
                    "post",
                    with_name(WRITE_PARAMS),
                    Some(Request { body: body.clone(), types: &["*/*"], required: true }),
                    OK_CREATED_ACCEPTED,
                    body,
                    Media::Object,
                );
                o.gvk = gvk;
                ops.push(o);
            }
            "finalize" => ops.push(op(
                "put",
                format!("replace{gv_id}{ns_id}{kind}{sub_id}"),
                format!("replace {sub} of the specified {kind}"),
                "put",
                with_name(WRITE_PARAMS),
                kind_body(true),
                OK_CREATED,
                obj.clone(),
                Media::Object,
            )),
            // status, scale, ephemeralcontainers, resize and anything new: get/replace/patch.
            _ => {
                let (body, sgvk) = match special {
                    Some(s) => (Body::Def(s.definition.clone()), s.gvk.clone()),
                    None => (obj.clone(), gvk.clone()),
                };
                let body_req =
                    |b: &Body| Some(Request { body: b.clone(), types: &["*/*"], required: true });
                let mut list = vec![
                    op(
                        "get",
                        format!("read{gv_id}{ns_id}{kind}{sub_id}"),
                        format!("read {sub} of the specified {kind}"),
                        "get",
                        with_name(&[]),
                        None,
                        OK,
                        body.clone(),
                        Media::Object,
                    ),
                    op(
                        "put",
                        format!("replace{gv_id}{ns_id}{kind}{sub_id}"),
                        format!("replace {sub} of the specified {kind}"),
                        "put",
                        with_name(WRITE_PARAMS),
                        body_req(&body),
                        OK_CREATED,
                        body.clone(),
                        Media::Object,
                    ),
                    op(
                        "patch",
                        format!("patch{gv_id}{ns_id}{kind}{sub_id}"),
                        format!("partially update {sub} of the specified {kind}"),
                        "patch",
                        with_name(PATCH_PARAMS),
                        patch_body(),
                        OK_CREATED,
                        body,
                        Media::Object,
                    ),
                ];
                for o in &mut list {
                    o.gvk = sgvk.clone();
                }
                ops.extend(list);
            }
        }
        if sub == "proxy" {
            // `proxy/{path}` carries the path in the URL instead of a parameter.
            let with_path: Vec<Op> = ops
                .iter()
                .map(|o| Op {
                    method: o.method,
                    id: format!("{}WithPath", o.id),
                    description: o.description.clone(),
                    action: o.action,
                    gvk: o.gvk.clone(),
                    params: o
                        .params
                        .iter()
                        .map(|p| {
                            if p.name == "path" {
                                path_param("path", "path to the resource".into())
                            } else {
                                p.clone()
                            }
                        })
                        .collect(),
                    request: None,
                    codes: o.codes,
                    body: o.body.clone(),
                    media: o.media,
                })
                .collect();
            push_item(items, format!("{path}/{{path}}"), with_path);
        }
        push_item(items, path, ops);
    }
}

fn push_item(items: &mut Vec<PathItem>, path: String, ops: Vec<Op>) {
    if !ops.is_empty() {
        items.push(PathItem { path, ops });
    }
}

fn path_param(name: &'static str, description: String) -> Param {
    Param { name, in_path: true, ty: "string", description }
}

/// Parameters every operation of a path shares are declared once on the path,
/// as kube-apiserver does; the rest stay on their operation. Both sorted by name.
fn split_params(item: &PathItem) -> (Vec<&Param>, Vec<Vec<&Param>>) {
    let first = &item.ops[0].params;
    let mut common: Vec<&Param> = first
        .iter()
        .filter(|p| {
            item.ops
                .iter()
                .all(|o| o.params.iter().any(|x| x.name == p.name && x.in_path == p.in_path))
        })
        .collect();
    common.sort_by_key(|p| p.name);
    let per_op = item
        .ops
        .iter()
        .map(|o| {
            let mut v: Vec<&Param> = o
                .params
                .iter()
                .filter(|p| !common.iter().any(|c| c.name == p.name && c.in_path == p.in_path))
                .collect();
            v.sort_by_key(|p| p.name);
            v
        })
        .collect();
    (common, per_op)
}

/// The `paths` object of a group-version's OpenAPI v3 document.
pub(crate) fn v3_paths(
    group: &str,
    version: &str,
    members: &[(&ResourceType, &str)],
    defs: &Defs,
) -> Value {
    let tag = tag(group, version);
    let mut paths = Map::new();
    for item in path_items(group, version, members, defs) {
        let (common, per_op) = split_params(&item);
        let mut pi = Map::new();
        for (o, params) in item.ops.iter().zip(per_op) {
            let mut m = Map::new();
            m.insert("tags".into(), json!([tag]));
            m.insert("description".into(), o.description.clone().into());
            m.insert("operationId".into(), o.id.clone().into());
            if !params.is_empty() {
                m.insert("parameters".into(), params.iter().map(|p| v3_param(p)).collect());
            }
            if let Some(r) = &o.request {
                let content: Map<String, Value> = r
                    .types
                    .iter()
                    .map(|t| (t.to_string(), json!({"schema": r.body.schema(REF_PREFIX)})))
                    .collect();
                let mut rb = Map::new();
                rb.insert("content".into(), content.into());
                if r.required {
                    rb.insert("required".into(), true.into());
                }
                m.insert("requestBody".into(), rb.into());
            }
            let mut responses = Map::new();
            for (code, desc) in o.codes {
                let content: Map<String, Value> = o
                    .media
                    .v3()
                    .iter()
                    .map(|t| (t.to_string(), json!({"schema": o.body.schema(REF_PREFIX)})))
                    .collect();
                responses
                    .insert(code.to_string(), json!({"description": desc, "content": content}));
            }
            responses.insert("401".into(), json!({"description": "Unauthorized"}));
            m.insert("responses".into(), responses.into());
            if !o.action.is_empty() {
                m.insert("x-kubernetes-action".into(), o.action.into());
                m.insert("x-kubernetes-group-version-kind".into(), o.gvk.op_value());
            }
            pi.insert(o.method.into(), m.into());
        }
        if !common.is_empty() {
            pi.insert("parameters".into(), common.iter().map(|p| v3_param(p)).collect());
        }
        paths.insert(item.path, pi.into());
    }
    paths.into()
}

fn v3_param(p: &Param) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), p.name.into());
    m.insert("in".into(), if p.in_path { "path" } else { "query" }.into());
    m.insert("description".into(), p.description.clone().into());
    if p.in_path {
        m.insert("required".into(), true.into());
    }
    m.insert("schema".into(), json!({"type": p.ty, "uniqueItems": true}));
    m.into()
}

/// Add a group-version's operations to a Swagger 2.0 `paths` object.
pub(crate) fn v2_paths(
    group: &str,
    version: &str,
    members: &[(&ResourceType, &str)],
    defs: &Defs,
    paths: &mut Map<String, Value>,
) {
    const V2_PREFIX: &str = "#/definitions/";
    let tag = tag(group, version);
    for item in path_items(group, version, members, defs) {
        let (common, per_op) = split_params(&item);
        let mut pi = Map::new();
        for (o, params) in item.ops.iter().zip(per_op) {
            let mut m = Map::new();
            m.insert("description".into(), o.description.clone().into());
            let consumes: &[&str] = match &o.request {
                Some(r) if r.types == PATCH_TYPES_V3 => PATCH_TYPES_V2,
                _ => &["*/*"],
            };
            m.insert("consumes".into(), json!(consumes));
            m.insert("produces".into(), json!(o.media.v2()));
            m.insert("schemes".into(), json!(["https"]));
            m.insert("tags".into(), json!([tag]));
            m.insert("operationId".into(), o.id.clone().into());
            let mut ps: Vec<Value> = Vec::new();
            if let Some(r) = &o.request {
                let mut b = Map::new();
                b.insert("name".into(), "body".into());
                b.insert("in".into(), "body".into());
                if r.required {
                    b.insert("required".into(), true.into());
                }
                b.insert("schema".into(), r.body.schema(V2_PREFIX));
                ps.push(b.into());
            }
            ps.extend(params.iter().map(|p| v2_param(p)));
            if !ps.is_empty() {
                m.insert("parameters".into(), ps.into());
            }
            let mut responses = Map::new();
            for (code, desc) in o.codes {
                responses.insert(
                    code.to_string(),
                    json!({"description": desc, "schema": o.body.schema(V2_PREFIX)}),
                );
            }
            responses.insert("401".into(), json!({"description": "Unauthorized"}));
            m.insert("responses".into(), responses.into());
            if !o.action.is_empty() {
                m.insert("x-kubernetes-action".into(), o.action.into());
                m.insert(
                    "x-kubernetes-group-version-kind".into(),
                    json!({"group": o.gvk.group, "kind": o.gvk.kind, "version": o.gvk.version}),
                );
            }
            pi.insert(o.method.into(), m.into());
        }
        if !common.is_empty() {
            pi.insert("parameters".into(), common.iter().map(|p| v2_param(p)).collect());
        }
        paths.insert(item.path, pi.into());
    }
}

fn v2_param(p: &Param) -> Value {
    let mut m = Map::new();
    m.insert("uniqueItems".into(), true.into());
    m.insert("type".into(), p.ty.into());
    m.insert("description".into(), p.description.clone().into());
    m.insert("name".into(), p.name.into());
    m.insert("in".into(), if p.in_path { "path" } else { "query" }.into());
    if p.in_path {
        m.insert("required".into(), true.into());
    }
    m.into()
}

/// Type and description of a query parameter.
fn query_doc(name: &str) -> (&'static str, &'static str) {
    match name {
        "pretty" => (
            "string",
            "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).",
        ),
        "allowWatchBookmarks" => (
            "boolean",
            "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers may send bookmarks at their discretion; clients must not assume any interval. Ignored if this is not a watch.",
        ),
        "continue" => (
            "string",
            "The continue token of a previous chunked list call, to retrieve the next chunk. An expired token is answered with 410 ResourceExpired. Not supported when watch is true.",
        ),
        "fieldSelector" => (
            "string",
            "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
        ),
        "labelSelector" => (
            "string",
            "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
        ),
        "limit" => (
            "integer",
            "limit is a maximum number of responses to return for a list call. If more items exist, the list metadata carries a `continue` token for the next chunk. Not supported if watch is true.",
        ),
        "resourceVersion" => (
            "string",
            "resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset",
        ),
        "resourceVersionMatch" => (
            "string",
            "resourceVersionMatch determines how resourceVersion is applied to list calls. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset",
        ),
        "sendInitialEvents" => (
            "boolean",
            "`sendInitialEvents=true` may be set together with `watch=true`: the watch stream then begins with synthetic ADDED events for the current objects, followed by a BOOKMARK annotated `\"k8s.io/initial-events-end\": \"true\"`.",
        ),
        "timeoutSeconds" => (
            "integer",
            "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.",
        ),
        "watch" => (
            "boolean",
            "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.",
        ),
        "dryRun" => (
            "string",
            "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed",
        ),
        "fieldManager" => (
            "string",
            "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint. This field is required for apply requests (application/apply-patch) but optional for non-apply patch types (JsonPatch, MergePatch, StrategicMergePatch).",
        ),
        "fieldValidation" => (
            "string",
            "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: unknown fields are silently dropped. - Warn: a warning header is sent for each unknown or duplicate field; this is the default. - Strict: the request fails with a BadRequest error naming every unknown and duplicate field.",
        ),
        "force" => (
            "boolean",
            "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.",
        ),
        "gracePeriodSeconds" => (
            "integer",
            "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately.",
        ),
        "ignoreStoreReadErrorWithClusterBreakingPotential" => (
            "boolean",
            "if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error. Defaults to false.",
        ),
        "orphanDependents" => (
            "boolean",
            "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the \"orphan\" finalizer will be added to/removed from the object's finalizers list. Either this field or PropagationPolicy may be set, but not both.",
        ),
        "propagationPolicy" => (
            "string",
            "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.",
        ),
        "container" => (
            "string",
            "The container for which to stream logs, or to exec or attach to. Defaults to only container if there is one container in the pod.",
        ),
        "follow" => ("boolean", "Follow the log stream of the pod. Defaults to false."),
        "insecureSkipTLSVerifyBackend" => (
            "boolean",
            "insecureSkipTLSVerifyBackend indicates that the apiserver should not confirm the validity of the serving certificate of the backend it is connecting to.",
        ),
        "limitBytes" => (
            "integer",
            "If set, the number of bytes to read from the server before terminating the log output.",
        ),
        "previous" => ("boolean", "Return previous terminated container logs. Defaults to false."),
        "sinceSeconds" => (
            "integer",
            "A relative time in seconds before the current time from which to show logs. Only one of sinceSeconds or sinceTime may be specified.",
        ),
        "stream" => (
            "string",
            "Specify which container log stream to return to the client. Acceptable values are \"All\", \"Stdout\" and \"Stderr\". Defaults to \"All\".",
        ),
        "tailLines" => (
            "integer",
            "If set, the number of lines from the end of the logs to show. If not specified, logs are shown from the creation of the container or sinceSeconds or sinceTime",
        ),
        "timestamps" => (
            "boolean",
            "If true, add an RFC3339 or RFC3339Nano timestamp at the beginning of every line of log output. Defaults to false.",
        ),
        "command" => (
            "string",
            "Command is the remote command to execute. argv array. Not executed within a shell.",
        ),
        "stderr" => ("boolean", "Redirect the standard error stream of the pod for this call."),
        "stdin" => (
            "boolean",
            "Redirect the standard input stream of the pod for this call. Defaults to false.",
        ),
        "stdout" => ("boolean", "Redirect the standard output stream of the pod for this call."),
        "tty" => (
            "boolean",
            "TTY if true indicates that a tty will be allocated for the exec call. Defaults to false.",
        ),
        "ports" => ("integer", "List of ports to forward Required when using WebSockets"),
        "path" => ("string", "Path is the URL path to use for the current proxy request."),
        _ => ("string", ""),
    }
}

/// A path with a single `GET` answering `def` (the discovery documents), as
/// `(path, v3 path item, v2 path item)`.
pub(crate) fn discovery_get(
    path: &str,
    tag: &str,
    id: &str,
    description: &str,
    def: &str,
) -> (String, Value, Value) {
    let content: Map<String, Value> = Media::Object
        .v3()
        .iter()
        .map(|t| (t.to_string(), json!({"schema": {"$ref": format!("{REF_PREFIX}{def}")}})))
        .collect();
    let v3 = json!({"get": {
        "tags": [tag],
        "description": description,
        "operationId": id,
        "responses": {
            "200": {"description": "OK", "content": content},
            "401": {"description": "Unauthorized"},
        },
    }});
    let v2 = json!({"get": {
        "description": description,
        "consumes": Media::Object.v2(),
        "produces": Media::Object.v2(),
        "schemes": ["https"],
        "tags": [tag],
        "operationId": id,
        "responses": {
            "200": {"description": "OK", "schema": {"$ref": format!("#/definitions/{def}")}},
            "401": {"description": "Unauthorized"},
        },
    }});
    (path.to_string(), v3, v2)
}

/// kube-apiserver's tag for a group's discovery path (`apps`, `rbacAuthorization`).
pub(crate) fn group_tag(group: &str) -> String {
    group_word(group, false)
}

/// The group as it appears in operation ids (`Apps`, `RbacAuthorization`).
pub(crate) fn group_id(group: &str) -> String {
    group_word(group, true)
}
