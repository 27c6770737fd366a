//! The verbs every kind shares: get, list, create, update, patch, delete,
//! deletecollection. Kind-specific behaviour comes only through
//! [`crate::kinds::Behavior`]; nothing here names a kind except Namespace, whose
//! lifecycle gates every namespaced write.

use crate::api::Api;
use crate::api::body;
use crate::api::error::{ApiError, ApiResult, Cause, Details, success_status};
use crate::api::http::{Reply, Request};
use crate::api::meta;
use crate::api::output;
use crate::api::router::Target;
use crate::kinds::{ResourceType, namespace::NAMESPACES};
use crate::store::{Change, rv_of};
use serde_json::{Value, json};
use std::sync::Arc;

/// How unknown fields in a body are treated (`fieldValidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// Options every write shares, from the query string.
pub(crate) struct WriteOptions {
    pub(crate) dry_run: bool,
    validation: FieldValidation,
    pub(crate) manager: String,
}

/// Refuse creates and updates where the kind says its objects are read-only.
fn check_writable(t: &Target) -> ApiResult<()> {
    let ns = t.namespace.as_deref().unwrap_or("");
    match t.rt.behavior.read_only(ns) {
        Some(why) => Err(ApiError::new(
            403,
            "Forbidden",
            format!(
                "{} \"{}\" is forbidden: {why}",
                t.rt.qualified_plural(),
                t.name.as_deref().unwrap_or("")
            ),
        )
        .with_details(Details {
            name: t.name.clone(),
            kind: Some(t.rt.plural.to_string()),
            ..Default::default()
        })),
        None => Ok(()),
    }
}

pub(crate) fn write_options(req: &Request) -> ApiResult<WriteOptions> {
    let dry_run = match req.param("dryRun") {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "dryRun: Unsupported value: \"{other}\": supported values: \"All\""
            )));
        }
    };
    let validation = match req.param("fieldValidation") {
        None | Some("") | Some("Warn") => FieldValidation::Warn,
        Some("Strict") => FieldValidation::Strict,
        Some("Ignore") => FieldValidation::Ignore,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            )));
        }
    };
    let manager = match req.param("fieldManager") {
        Some(m) if m.len() > 128 => {
            return Err(ApiError::invalid(
                "",
                "",
                "",
                vec![Cause::new(
                    "FieldValueTooLong",
                    "Too long: may not be more than 128 bytes",
                    "fieldManager",
                )],
            ));
        }
        Some(m) if !m.is_empty() => m.to_string(),
        // Like kube-apiserver: the User-Agent's program name.
        _ => req
            .header("user-agent")
            .and_then(|ua| ua.split('/').next())
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_string(),
    };
    Ok(WriteOptions { dry_run, validation, manager })
}

/// The namespace an object lives in ("" for cluster-scoped kinds).
fn object_namespace(t: &Target) -> String {
    if t.rt.namespaced { t.namespace.clone().unwrap_or_default() } else { String::new() }
}

fn name_of(obj: &Value) -> &str {
    obj.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("")
}

/// Everything a client body goes through before it may be stored: kind and
/// namespace checks, typed decoding (with `fieldValidation`), defaults,
/// server-owned metadata, and validation. `old` is the stored object on update.
fn admit(
    t: &Target,
    mut obj: Value,
    old: Option<&Value>,
    opts: &WriteOptions,
    warnings: &mut Vec<String>,
) -> ApiResult<Value> {
    let rt = t.rt;
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("").to_string();
    if (!kind.is_empty() && kind != rt.kind)
        || (!api_version.is_empty() && api_version != rt.api_version())
    {
        let k = if kind.is_empty() { rt.kind } else { kind.as_str() };
        let v = if api_version.is_empty() { rt.api_version() } else { api_version.clone() };
        let version = v.rsplit('/').next().unwrap_or(&v).to_string();
        let internal = if rt.group.is_empty() {
            "core".to_string()
        } else {
            rt.group.split('.').next().unwrap_or("").to_string()
        };
        return Err(ApiError::bad_request(format!(
            "{k} in version \"{version}\" cannot be handled as a {}: converting ({version}.{k}) to ({internal}.{}): unknown conversion",
            rt.kind, rt.kind
        )));
    }
    obj["kind"] = json!(rt.kind);
    obj["apiVersion"] = json!(rt.api_version());
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    let ns = object_namespace(t);
    match obj["metadata"].get("namespace").and_then(Value::as_str) {
        Some(body_ns) if !body_ns.is_empty() && rt.namespaced && body_ns != ns => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        _ => {}
    }
    if rt.namespaced {
        obj["metadata"]["namespace"] = json!(ns);
    } else if let Some(m) = obj["metadata"].as_object_mut() {
        m.shift_remove("namespace");
    }

    let decoded = rt.behavior.decode(&obj).map_err(|e| {
        ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {e}",
            rt.kind, rt.version, rt.kind
        ))
    })?;
    if !decoded.unknown.is_empty() {
        match opts.validation {
            FieldValidation::Strict => {
                let list: Vec<String> =
                    decoded.unknown.iter().map(|f| format!("unknown field \"{f}\"")).collect();
                return Err(ApiError::bad_request(format!(
                    "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
                    rt.kind,
                    rt.version,
                    rt.kind,
                    list.join(", ")
                )));
            }
            FieldValidation::Warn => {
                warnings.extend(decoded.unknown.iter().map(|f| format!("unknown field \"{f}\"")))
            }
            FieldValidation::Ignore => {}
        }
    }
    let mut obj = decoded.object;
    crate::api::schema::global().prune_empty(rt, &mut obj);

    // Server-owned metadata: never taken from the client.
    let now = meta::now_rfc3339();
    {
        let m = obj["metadata"]
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "selfLink",
        ] {
            m.shift_remove(k);
        }
        match old {
            Some(old) => {
                for k in [
                    "uid",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "generation",
                ] {
                    if let Some(v) = old["metadata"].get(k) {
                        m.insert(k.into(), v.clone());
                    }
                }
            }
            None => {
                m.insert("uid".into(), json!(meta::new_uid()));
                // Placeholder so the store's value lands in Go's field order.
                m.insert("resourceVersion".into(), json!(""));
                m.insert("creationTimestamp".into(), json!(now));
                if rt.behavior.has_generation() {
                    m.insert("generation".into(), json!(1));
                }
            }
        }
    }
    if let Some(old) = old {
        rt.behavior.carry_over(&mut obj, old);
    }
    rt.behavior.default(&mut obj);
    if old.is_none() {
        rt.behavior.on_create(&mut obj);
    }
    if let Some(old) = old
        && rt.behavior.has_generation()
    {
        let changed = rt.behavior.spec_fields().iter().any(|f| obj.get(*f) != old.get(*f));
        if changed {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            obj["metadata"]["generation"] = json!(g);
        }
    }

    let mut causes = meta::validate_name(name_of(&obj), rt.behavior.name_rule(), "metadata.name");
    causes.extend(meta::validate_meta_maps(&obj["metadata"]));
    causes.extend(rt.behavior.validate(&obj, old));
    if !causes.is_empty() {
        return Err(ApiError::invalid(rt.kind, rt.group, name_of(&obj), causes));
    }
    // Server-side apply records its own managedFields; every other write is an Update.
    if !opts.manager.is_empty() {
        crate::api::patch::track_update(
            old,
            &mut obj,
            &opts.manager,
            &rt.api_version(),
            Some(&now),
            t.subresource.as_deref(),
            &*schema_meta(rt),
        );
    }
    Ok(rt.behavior.to_storage(meta::canonical_order(obj)))
}

/// Patch and apply metadata (merge keys, list types) for a kind.
fn schema_meta(rt: &'static ResourceType) -> Box<dyn crate::api::patch::SchemaMeta> {
    Box::new(crate::api::schema::KindMeta { rt })
}

/// Namespaced writes need a live namespace (404 if missing, 403 if terminating).
fn check_namespace(api: &Api, t: &Target, name: &str) -> ApiResult<()> {
    if !t.rt.namespaced {
        return Ok(());
    }
    let ns = object_namespace(t);
    match api.store.get(NAMESPACES.storage, "", &ns) {
        None => Err(ApiError::not_found("namespaces", &ns)),
        Some(n) if n["metadata"].get("deletionTimestamp").is_some() => Err(ApiError::new(
            403,
            "Forbidden",
            format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                t.rt.qualified_plural()
            ),
        )
        .with_details(Details {
            name: Some(name.to_string()),
            kind: Some(t.rt.plural.to_string()),
            group: (!t.rt.group.is_empty()).then(|| t.rt.group.to_string()),
            causes: vec![Cause::new(
                "NamespaceTerminating",
                format!("namespace {ns} is being terminated"),
                "metadata.namespace",
            )],
            ..Default::default()
        })),
        Some(_) => Ok(()),
    }
}

fn with_warnings(mut reply: Reply, warnings: &[String]) -> Reply {
    for w in warnings {
        reply.headers.push(("Warning".into(), format!("299 - {}", crate::api::error::go_quote(w))));
    }
    reply
}

/// `POST .../<plural>`
pub fn create(api: &Api, req: &Request, t: &Target) -> ApiResult<Reply> {
    check_writable(t)?;
    if t.name.is_some() {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource".to_string(),
        ));
    }
    if t.rt.namespaced && t.namespace.is_none() {
        return Err(ApiError::unknown_resource());
    }
    let opts = write_options(req)?;
    let mut obj = body::parse_object(req, t.rt.kind)?;
    if name_of(&obj).is_empty() {
        match obj.get("metadata").and_then(|m| m.get("generateName")).and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => {
                let name = meta::generate_name(prefix);
                obj["metadata"]["name"] = json!(name);
            }
            _ => {
                return Err(ApiError::invalid(
                    t.rt.kind,
                    t.rt.group,
                    "",
                    vec![Cause::new(
                        "FieldValueRequired",
                        "Required value: name or generateName is required",
                        "metadata.name",
                    )],
                ));
            }
        }
    }
    let mut warnings = Vec::new();
    let _done = WriteDone(t, object_namespace(t), name_of(&obj).to_string());
    let obj = admit(t, obj, None, &opts, &mut warnings)?;
    let name = name_of(&obj).to_string();
    check_namespace(api, t, &name)?;
    let ns = object_namespace(t);
    let written = api
        .store
        .write(t.rt.storage, &ns, &name, opts.dry_run, |cur| {
            if cur.is_some() {
                return Err(ApiError::already_exists(&t.rt.qualified_plural(), &name));
            }
            Ok(Some(Change::Put(obj)))
        })?
        .ok_or_else(|| ApiError::internal("create wrote nothing"))?;
    if !opts.dry_run {
        api.after_write(t.rt, &ns, &name);
    }
    Ok(with_warnings(output::object(req, t.rt, &written.object, 201)?, &warnings))
}

/// Tells the kind a write attempt is over on every return path
/// ([`crate::kinds::Behavior::write_done`]).
struct WriteDone<'a>(&'a Target, String, String);

impl Drop for WriteDone<'_> {
    fn drop(&mut self) {
        self.0.rt.behavior.write_done(&self.1, &self.2);
    }
}

/// Shared by PUT and PATCH: store `obj` over the current object, with
/// optimistic concurrency on `metadata.resourceVersion` when the client sent one.
fn store_update(
    api: &Api,
    req: &Request,
    t: &Target,
    opts: &WriteOptions,
    make: impl FnOnce(&Value) -> ApiResult<Value>,
    create_if_missing: Option<Value>,
) -> ApiResult<(Reply, Vec<String>)> {
    let name = t.name.clone().unwrap_or_default();
    let ns = object_namespace(t);
    let _done = WriteDone(t, ns.clone(), name.clone());
    let plural = t.rt.qualified_plural();
    let mut warnings = Vec::new();
    let mut created = false;
    let sub = t.subresource.as_deref();
    let has_status = t.rt.behavior.has_status_subresource();
    let written = api.store.write(t.rt.storage, &ns, &name, opts.dry_run, |cur| {
        let Some(cur) = cur else {
            if sub.is_some() {
                return Err(ApiError::not_found(&plural, &name));
            }
            return match create_if_missing {
                Some(obj) => {
                    check_namespace(api, t, &name)?;
                    created = true;
                    Ok(Some(Change::Put(admit(t, obj, None, opts, &mut warnings)?)))
                }
                None => Err(ApiError::not_found(&plural, &name)),
            };
        };
        // Patches and checks see the object as this resource presents it.
        let stored = cur;
        let cur = &*t.rt.behavior.present(stored);
        let mut obj = make(cur)?;
        if !obj.is_object() {
            return Err(ApiError::bad_request("the body must be an object"));
        }
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        let body_name = name_of(&obj).to_string();
        if body_name.is_empty() {
            obj["metadata"]["name"] = json!(name);
        } else if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let sent_rv = obj["metadata"].get("resourceVersion").and_then(Value::as_str).unwrap_or("").to_string();
        if !sent_rv.is_empty() && sent_rv != rv_of(cur).to_string() {
            return Err(ApiError::conflict(
                &plural,
                &name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        // The status subresource and the main resource each own their half.
        if has_status {
            match sub {
                Some("status") => {
                    let status = obj.get("status").cloned();
                    obj = cur.clone();
                    match status {
                        Some(s) => obj["status"] = s,
                        None => {
                            if let Some(m) = obj.as_object_mut() {
                                m.shift_remove("status");
                            }
                        }
                    }
                }
                _ => match cur.get("status") {
                    Some(s) => obj["status"] = s.clone(),
                    None => {
                        if let Some(m) = obj.as_object_mut() {
                            m.shift_remove("status");
                        }
                    }
                },
            }
        }
        let mut obj = admit(t, obj, Some(cur), opts, &mut warnings)?;
        // A terminating object whose last finalizer is gone is deleted now.
        let finalizers_empty = obj["metadata"].get("finalizers").and_then(Value::as_array).is_none_or(Vec::is_empty);
        if obj["metadata"].get("deletionTimestamp").is_some()
            && finalizers_empty
            && t.rt.behavior.grace_period(&obj, None).is_none()
        {
            return Ok(Some(Change::Delete));
        }
        // An update that changes nothing keeps its resourceVersion, as in Kubernetes.
        obj["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"].clone();
        if obj == **stored {
            return Ok(None);
        }
        Ok(Some(Change::Put(obj)))
    })?;
    let object = match written {
        Some(w) => w.object,
        // No change: answer with the current object.
        None => api
            .store
            .get(t.rt.storage, &ns, &name)
            .ok_or_else(|| ApiError::not_found(&plural, &name))?,
    };
    if !opts.dry_run {
        api.after_write(t.rt, &ns, &name);
    }
    let status = if created { 201 } else { 200 };
    Ok((output::object(req, t.rt, &object, status)?, warnings))
}

/// `PUT .../<plural>/<name>[/status]`
pub fn update(api: &Api, req: &Request, t: &Target) -> ApiResult<Reply> {
    check_writable(t)?;
    let opts = write_options(req)?;
    let obj = body::parse_object(req, t.rt.kind)?;
    let (reply, warnings) = store_update(api, req, t, &opts, |_| Ok(obj), None)?;
    Ok(with_warnings(reply, &warnings))
}

/// `PATCH .../<plural>/<name>[/status]` with any of the four patch types.
pub fn patch(api: &Api, req: &Request, t: &Target) -> ApiResult<Reply> {
    check_writable(t)?;
    use crate::api::patch::{self, PatchType};
    let mut opts = write_options(req)?;
    let ptype = patch::patch_type(req.header("content-type"))?;
    if req.body.len() > body::MAX_BODY {
        return Err(ApiError::too_large("Request entity too large: limit is 3145728"));
    }
    let force = req.flag("force");
    let name = t.name.clone().unwrap_or_default();
    if ptype == PatchType::Apply {
        if req.param("fieldManager").is_none_or(str::is_empty) {
            return Err(patch::missing_field_manager());
        }
        let applied = patch::parse_applied(&req.body)?;
        let mut create = applied.clone();
        // Apply creates when the object is missing (answering 201).
        let manager = opts.manager.clone();
        let meta_schema = schema_meta(t.rt);
        let sub = t.subresource.as_deref();
        if let Some(m) = create.as_object_mut() {
            m.entry("metadata").or_insert(json!({}));
        }
        let created = patch::apply_to(
            None,
            &create,
            &manager,
            force,
            &*meta_schema,
            &meta::now_rfc3339(),
            sub,
        )?;
        // Apply's own managedFields replace the Update entry admit would add.
        opts.manager = String::new();
        let (reply, warnings) = store_update(
            api,
            req,
            t,
            &opts,
            |cur| {
                patch::apply_to(
                    Some(cur),
                    &applied,
                    &manager,
                    force,
                    &*meta_schema,
                    &meta::now_rfc3339(),
                    sub,
                )
            },
            Some(created),
        )?;
        return Ok(with_warnings(reply, &warnings));
    }
    let rt = t.rt;
    let (reply, warnings) = store_update(
        api,
        req,
        t,
        &opts,
        |cur| {
            let mut patched = patch::patch_object(ptype, cur, &req.body, &*schema_meta(rt))?;
            // A patch that leaves metadata.resourceVersion untouched is unconditional.
            if patched["metadata"].get("resourceVersion") == cur["metadata"].get("resourceVersion")
                && let Some(m) = patched["metadata"].as_object_mut()
            {
                m.shift_remove("resourceVersion");
            }
            Ok(patched)
        },
        None,
    )
    .map_err(|e| {
        if e.code == 404 { ApiError::not_found(&rt.qualified_plural(), &name) } else { e }
    })?;
    Ok(with_warnings(reply, &warnings))
}

/// `DELETE .../<plural>/<name>`
pub fn delete(api: &Api, req: &Request, t: &Target) -> ApiResult<Reply> {
    let opts = delete_options(req)?;
    let name = t.name.clone().unwrap_or_default();
    let ns = object_namespace(t);
    let (object, gone) = delete_one(&api.store, t.rt, &ns, &name, &opts)?;
    if !opts.dry_run {
        api.after_write(t.rt, &ns, &name);
    }
    if gone && !t.rt.behavior.returns_deleted_object() {
        let mut details =
            json!({"name": name, "kind": t.rt.plural, "uid": object["metadata"]["uid"]});
        if !t.rt.group.is_empty() {
            details = json!({"name": name, "group": t.rt.group, "kind": t.rt.plural, "uid": object["metadata"]["uid"]});
        }
        return Ok(Reply::json(200, &success_status(Some(details))));
    }
    output::object(req, t.rt, &object, 200)
}

/// `DeleteOptions` as the handlers (and controllers deleting what they own) use them.
pub(crate) struct DeleteOptions {
    pub(crate) dry_run: bool,
    /// Precondition: delete only this incarnation of the object.
    pub(crate) uid: Option<String>,
    pub(crate) resource_version: Option<String>,
    /// `Background`, `Foreground` or `Orphan`.
    pub(crate) propagation: String,
    pub(crate) grace_period: Option<i64>,
}

impl DeleteOptions {
    /// What a controller sends: background propagation, guarded by `uid`.
    pub(crate) fn background(uid: Option<String>) -> DeleteOptions {
        DeleteOptions {
            dry_run: false,
            uid,
            resource_version: None,
            propagation: "Background".into(),
            grace_period: None,
        }
    }
}

fn delete_options(req: &Request) -> ApiResult<DeleteOptions> {
    let body = body::parse_options(req)?.unwrap_or(json!({}));
    let dry_run = match body.get("dryRun").and_then(Value::as_array) {
        Some(a) => a.iter().any(|v| v == "All"),
        None => write_options(req)?.dry_run,
    };
    let propagation = body
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or(req.param("propagationPolicy"))
        .unwrap_or("Background")
        .to_string();
    if !matches!(propagation.as_str(), "Background" | "Foreground" | "Orphan") {
        return Err(ApiError::invalid(
            "DeleteOptions",
            "",
            "",
            vec![Cause::new(
                "FieldValueNotSupported",
                format!(
                    "Unsupported value: \"{propagation}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
                ),
                "propagationPolicy",
            )],
        ));
    }
    let grace_period =
        match body.get("gracePeriodSeconds").and_then(Value::as_i64) {
            Some(g) => Some(g),
            None => match req.param("gracePeriodSeconds") {
                Some(g) if !g.is_empty() => Some(g.parse().map_err(|_| {
                    ApiError::bad_request(format!("invalid gracePeriodSeconds {g:?}"))
                })?),
                _ => None,
            },
        };
    let pre = body.get("preconditions");
    Ok(DeleteOptions {
        grace_period,
        dry_run,
        uid: pre.and_then(|p| p.get("uid")).and_then(Value::as_str).map(str::to_string),
        resource_version: pre
            .and_then(|p| p.get("resourceVersion"))
            .and_then(Value::as_str)
            .map(str::to_string),
        propagation,
    })
}

/// Delete one object, or mark it terminating when finalizers (or the
/// namespace lifecycle) hold it. Returns the object and whether it is gone.
pub(crate) fn delete_one(
    store: &crate::store::Store,
    rt: &'static ResourceType,
    ns: &str,
    name: &str,
    opts: &DeleteOptions,
) -> ApiResult<(Arc<Value>, bool)> {
    let plural = rt.qualified_plural();
    let mut gone = false;
    let written = store.write(rt.storage, ns, name, opts.dry_run, |cur| {
        let Some(cur) = cur else { return Err(ApiError::not_found(&plural, name)) };
        let uid = cur["metadata"]["uid"].as_str().unwrap_or("");
        if let Some(want) = &opts.uid
            && want != uid {
                return Err(ApiError::new(
                    409,
                    "Conflict",
                    format!("Operation cannot be fulfilled on {} \"{name}\": the UID in the precondition ({want}) does not match the UID in record ({uid}). The object might have been deleted and then recreated", rt.kind),
                )
                .with_details(Details { name: Some(name.into()), kind: Some(rt.kind.into()), group: (!rt.group.is_empty()).then(|| rt.group.to_string()), ..Default::default() }));
            }
        if let Some(want) = &opts.resource_version {
            let have = rv_of(cur).to_string();
            if *want != have {
                return Err(ApiError::new(
                    409,
                    "Conflict",
                    format!("Operation cannot be fulfilled on {} \"{name}\": the ResourceVersion in the precondition ({want}) does not match the ResourceVersion in record ({have}). The object might have been modified", rt.kind),
                )
                .with_details(Details { name: Some(name.into()), kind: Some(rt.kind.into()), group: (!rt.group.is_empty()).then(|| rt.group.to_string()), ..Default::default() }));
            }
        }
        let has_finalizers = cur["metadata"].get("finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty());
        // Kinds whose deletion the controller finishes (pods stop their
        // containers, namespaces empty themselves) get a grace period.
        let grace = rt.behavior.grace_period(cur, opts.grace_period);
        // Foreground and Orphan propagation hold the owner with the garbage
        // collector's finalizer until its dependents are gone or released.
        let gc_finalizer = match (opts.propagation.as_str(), grace) {
            ("Foreground", None) => Some("foregroundDeletion"),
            ("Orphan", None) => Some("orphan"),
            _ => None,
        };
        if has_finalizers || grace.is_some() || gc_finalizer.is_some() {
            let mut obj = (**cur).clone();
            let already = obj["metadata"].get("deletionTimestamp").is_some();
            meta::start_deletion(&mut obj, grace.unwrap_or(0));
            if !already {
                if let Some(f) = gc_finalizer {
                    let m = &mut obj["metadata"];
                    if !m.get("finalizers").is_some_and(Value::is_array) {
                        m["finalizers"] = json!([]);
                    }
                    if let Some(list) = m["finalizers"].as_array_mut()
                        && !list.iter().any(|x| x == f)
                    {
                        list.push(json!(f));
                    }
                }
                // `BeforeDelete`: starting deletion is a change of the object's intent.
                if let Some(g) = obj["metadata"].get("generation").and_then(Value::as_i64)
                    && g > 0
                {
                    obj["metadata"]["generation"] = json!(g + 1);
                }
            }
            if obj == **cur {
                return Ok(None);
            }
            rt.behavior.on_delete(&mut obj);
            return Ok(Some(Change::Put(meta::canonical_order(obj))));
        }
        gone = true;
        Ok(Some(Change::Delete))
    })?;
    let object = match written {
        Some(w) => w.object,
        None => {
            store.get(rt.storage, ns, name).ok_or_else(|| ApiError::not_found(&plural, name))?
        }
    };
    Ok((object, gone))
}

/// `DELETE .../<plural>` with selectors: answers the list of what was deleted.
pub fn delete_collection(api: &Api, req: &Request, t: &Target) -> ApiResult<Reply> {
    if !t.rt.verbs.contains(&"deletecollection") {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let opts = delete_options(req)?;
    let filter = output::ListFilter::from_request(req, t.rt)?;
    let ns = t.namespace.as_deref();
    let (items, _) = api.store.list(t.rt.storage, ns, None);
    let mut deleted = Vec::new();
    for obj in items.iter().filter(|o| filter.matches(o, t.rt)) {
        let ons = obj["metadata"]["namespace"].as_str().unwrap_or("").to_string();
        let oname = name_of(obj).to_string();
        match delete_one(&api.store, t.rt, &ons, &oname, &opts) {
            Ok((o, _)) => deleted.push(o),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
        if !opts.dry_run {
            api.after_write(t.rt, &ons, &oname);
        }
    }
    let refs: Vec<&Value> = deleted.iter().map(|a| &**a).collect();
    output::list(req, t.rt, &refs, api.store.current_rv(), None)
}

/// `GET .../<plural>/<name>`
pub fn get(api: &Api, req: &Request, t: &Target) -> ApiResult<Reply> {
    let name = t.name.clone().unwrap_or_default();
    let ns = object_namespace(t);
    let obj = api
        .store
        .get(t.rt.storage, &ns, &name)
        .ok_or_else(|| ApiError::not_found(&t.rt.qualified_plural(), &name))?;
    output::object(req, t.rt, &obj, 200)
}

/// `GET .../<plural>` (not a watch): selectors and `limit`/`continue`.
pub fn list(api: &Api, req: &Request, t: &Target) -> ApiResult<Reply> {
    let filter = output::ListFilter::from_request(req, t.rt)?;
    let limit: usize = match req.param("limit") {
        None | Some("") | Some("0") => 0,
        Some(l) => l.parse().map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?,
    };
    let after = match req.param("continue") {
        None | Some("") => None,
        Some(tok) => Some(output::decode_continue(tok)?),
    };
    let (items, rv) = api.store.list(t.rt.storage, t.namespace.as_deref(), after.as_ref());
    let mut selected: Vec<&Value> = Vec::new();
    let mut next = None;
    for obj in items.iter().filter(|o| filter.matches(o, t.rt)) {
        if limit > 0 && selected.len() == limit {
            let last = selected[selected.len() - 1];
            next = Some(output::encode_continue(
                rv,
                last["metadata"]["namespace"].as_str().unwrap_or(""),
                name_of(last),
            ));
            break;
        }
        selected.push(obj);
    }
    output::list(req, t.rt, &selected, rv, next)
}
