//! Pod validation with kube-apiserver's field paths and messages
//! (`ValidatePodSpec`, `ValidatePodUpdate`), for the checks that matter to
//! what k2d runs: container and volume names, images, ports, mounts, enums.

use crate::adapter::convert::pod::quantity::Quantity;
use crate::api::error::{Cause, go_quote};
use crate::api::meta::validate_name;
use crate::kinds::NameRule;
use serde_json::{Value, json};
use std::collections::HashSet;

/// Causes for a pod spec at `spec`.
pub fn validate_spec(spec: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let volumes = validate_volumes(spec, &mut out);
    let containers = arr(spec, "containers");
    if containers.is_empty() {
        out.push(Cause::required("spec.containers"));
    }
    let mut names = HashSet::new();
    for (i, c) in containers.iter().enumerate() {
        let path = format!("spec.containers[{i}]");
        validate_container(c, &path, &volumes, &mut out);
        let name = str_of(c, "name");
        if !names.insert(name.to_string()) {
            out.push(duplicate(&format!("{path}.name"), name));
        }
    }
    for (i, c) in arr(spec, "initContainers").iter().enumerate() {
        let path = format!("spec.initContainers[{i}]");
        validate_container(c, &path, &volumes, &mut out);
        if let Some(p) = c.get("restartPolicy").and_then(Value::as_str)
            && p != "Always"
        {
            out.push(not_supported(&format!("{path}.restartPolicy"), p, &["Always"]));
        }
        let name = str_of(c, "name");
        if names.contains(name) {
            out.push(duplicate(&format!("{path}.name"), name));
        } else if !name.is_empty() {
            names.insert(name.to_string());
        }
    }
    match str_of(spec, "restartPolicy") {
        "Always" | "OnFailure" | "Never" => {}
        "" => out.push(Cause::required("spec.restartPolicy")),
        p => out.push(not_supported("spec.restartPolicy", p, &["Always", "OnFailure", "Never"])),
    }
    match str_of(spec, "dnsPolicy") {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" => {}
        "None" => {
            if spec.get("dnsConfig").is_none_or(Value::is_null) {
                out.push(Cause::new(
                    "FieldValueRequired",
                    "Required value: must provide `dnsConfig` when `dnsPolicy` is None",
                    "spec.dnsConfig",
                ));
            }
        }
        "" => out.push(Cause::required("spec.dnsPolicy")),
        p => out.push(not_supported(
            "spec.dnsPolicy",
            p,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    if let Some(ads) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64)
        && !(1..=i64::from(i32::MAX)).contains(&ads)
    {
        out.push(invalid_int(
            "spec.activeDeadlineSeconds",
            ads,
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    for field in ["hostname", "subdomain"] {
        let v = str_of(spec, field);
        if !v.is_empty() {
            out.extend(validate_name(v, NameRule::Label, &format!("spec.{field}")));
        }
    }
    out
}

/// `ValidatePodUpdate`: only images, activeDeadlineSeconds (lowered),
/// tolerations (added) and a negative grace period set to 1 may change.
/// k2d's own binding (nodeName from empty to a node) is allowed too.
pub fn validate_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let (ns, os) = (&new["spec"], &old["spec"]);
    for list in ["containers", "initContainers"] {
        let (n, o) = (arr(ns, list), arr(os, list));
        if n.len() != o.len() {
            out.push(Cause::forbidden(
                &format!("spec.{list}"),
                "pod updates may not add or remove containers",
            ));
            return out;
        }
    }
    let (new_ads, old_ads) = (
        ns.get("activeDeadlineSeconds").and_then(Value::as_i64),
        os.get("activeDeadlineSeconds").and_then(Value::as_i64),
    );
    match (new_ads, old_ads) {
        (Some(n), Some(o)) if n > o => {
            out.push(invalid_int(
                "spec.activeDeadlineSeconds",
                n,
                "must be less than or equal to previous value",
            ));
            return out;
        }
        (None, Some(_)) => out.push(Cause::invalid(
            "spec.activeDeadlineSeconds",
            "null",
            "must not update from a positive integer to a nil value",
        )),
        _ => {}
    }
    let old_tolerations = arr(os, "tolerations");
    let new_tolerations = arr(ns, "tolerations");
    let without_seconds = |t: &Value| {
        let mut t = t.clone();
        if let Some(m) = t.as_object_mut() {
            m.shift_remove("tolerationSeconds");
        }
        t
    };
    let kept = old_tolerations
        .iter()
        .all(|o| new_tolerations.iter().any(|n| without_seconds(n) == without_seconds(o)));
    if !kept {
        out.push(Cause::forbidden(
            "spec.tolerations",
            "existing toleration can not be modified except its tolerationSeconds",
        ));
        return out;
    }

    // Compare everything else with the updatable fields taken from the old spec.
    let mut munged = ns.clone();
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = munged.get_mut(list) {
            for (c, o) in cs.iter_mut().zip(arr(os, list)) {
                c["image"] = o.get("image").cloned().unwrap_or(Value::Null);
            }
        }
    }
    if let Some(m) = munged.as_object_mut() {
        for k in ["activeDeadlineSeconds", "tolerations", "schedulingGates"] {
            match os.get(k) {
                Some(v) => m.insert(k.into(), v.clone()),
                None => m.shift_remove(k),
            };
        }
        let old_grace = os.get("terminationGracePeriodSeconds").and_then(Value::as_i64);
        if old_grace.is_some_and(|g| g < 0)
            && m.get("terminationGracePeriodSeconds") == Some(&json!(1))
        {
            m.insert("terminationGracePeriodSeconds".into(), json!(old_grace));
        }
        if str_of(os, "nodeName").is_empty() {
            match os.get("nodeName") {
                Some(v) => m.insert("nodeName".into(), v.clone()),
                None => m.shift_remove("nodeName"),
            };
        }
    }
    if munged != *os {
        out.push(Cause::forbidden("spec", UPDATE_MESSAGE));
    }
    out
}

const UPDATE_MESSAGE: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// `ValidateVolumes`: returns the names of the valid volumes (mounts may only
/// refer to those).
fn validate_volumes(spec: &Value, out: &mut Vec<Cause>) -> HashSet<String> {
    let mut names = HashSet::new();
    for (i, v) in arr(spec, "volumes").iter().enumerate() {
        let path = format!("spec.volumes[{i}]");
        let mut errs = validate_volume_source(v, &path);
        let name = str_of(v, "name");
        if name.is_empty() {
            errs.push(Cause::required(&format!("{path}.name")));
        } else {
            errs.extend(validate_name(name, NameRule::Label, &format!("{path}.name")));
        }
        if names.contains(name) {
            errs.push(duplicate(&format!("{path}.name"), name));
        }
        if errs.is_empty() {
            names.insert(name.to_string());
        } else {
            out.extend(errs);
        }
    }
    names
}

const SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

fn validate_volume_source(v: &Value, path: &str) -> Vec<Cause> {
    let mut out = Vec::new();
    let set: Vec<&str> =
        SOURCES.iter().copied().filter(|k| v.get(*k).is_some_and(|x| !x.is_null())).collect();
    match set.len() {
        0 => {
            out.push(Cause::new(
                "FieldValueRequired",
                "Required value: must specify a volume type",
                path,
            ));
            return out;
        }
        1 => {}
        _ => {
            out.push(Cause::forbidden(
                &format!("{path}.{}", set[1]),
                "may not specify more than 1 volume type",
            ));
            return out;
        }
    }
    let kind = set[0];
    let src = &v[kind];
    let sp = format!("{path}.{kind}");
    let require = |field: &str, out: &mut Vec<Cause>| {
        if str_of(src, field).is_empty() {
            out.push(Cause::required(&format!("{sp}.{field}")));
        }
    };
    match kind {
        "configMap" => require("name", &mut out),
        "secret" => require("secretName", &mut out),
        "hostPath" => require("path", &mut out),
        "persistentVolumeClaim" => require("claimName", &mut out),
        _ => {}
    }
    if ["configMap", "secret", "downwardAPI", "projected"].contains(&kind) {
        mode_check(src, "defaultMode", &format!("{sp}.defaultMode"), &mut out);
    }
    if matches!(kind, "configMap" | "secret") {
        key_to_paths(src, &sp, &mut out);
    }
    if kind == "downwardAPI" {
        for (i, it) in arr(src, "items").iter().enumerate() {
            item_path(it, &format!("{sp}.items[{i}]"), &mut out);
        }
    }
    if kind == "projected" {
        for (i, s) in arr(src, "sources").iter().enumerate() {
            let p = format!("{sp}.sources[{i}]");
            if let Some(cm) = s.get("configMap") {
                key_to_paths(cm, &format!("{p}.configMap"), &mut out);
            }
            if let Some(sec) = s.get("secret") {
                key_to_paths(sec, &format!("{p}.secret"), &mut out);
            }
            if let Some(d) = s.get("downwardAPI") {
                for (j, it) in arr(d, "items").iter().enumerate() {
                    item_path(it, &format!("{p}.downwardAPI.items[{j}]"), &mut out);
                }
            }
        }
    }
    out
}

fn key_to_paths(src: &Value, sp: &str, out: &mut Vec<Cause>) {
    for (i, it) in arr(src, "items").iter().enumerate() {
        let p = format!("{sp}.items[{i}]");
        if str_of(it, "key").is_empty() {
            out.push(Cause::required(&format!("{p}.key")));
        }
        item_path(it, &p, out);
    }
}

fn item_path(it: &Value, p: &str, out: &mut Vec<Cause>) {
    let path = str_of(it, "path");
    if path.is_empty() {
        out.push(Cause::required(&format!("{p}.path")));
    } else {
        local_descending_path(path, &format!("{p}.path"), out);
    }
    mode_check(it, "mode", &format!("{p}.mode"), out);
}

fn mode_check(v: &Value, field: &str, path: &str, out: &mut Vec<Cause>) {
    if let Some(m) = v.get(field).and_then(Value::as_i64)
        && !(0..=0o777).contains(&m)
    {
        out.push(invalid_int(
            path,
            m,
            "must be a number between 0 and 0777 (octal), both inclusive",
        ));
    }
}

/// `validateLocalDescendingPath`.
fn local_descending_path(p: &str, field: &str, out: &mut Vec<Cause>) {
    if p.starts_with('/') {
        out.push(Cause::invalid(field, p, "must be a relative path"));
    }
    if p.split('/').any(|c| c == "..") {
        out.push(Cause::invalid(field, p, "must not contain '..'"));
    }
    if p.starts_with("..") {
        out.push(Cause::invalid(field, p, "must not start with '..'"));
    }
}

fn validate_container(c: &Value, path: &str, volumes: &HashSet<String>, out: &mut Vec<Cause>) {
    let name = str_of(c, "name");
    if name.is_empty() {
        out.push(Cause::required(&format!("{path}.name")));
    } else {
        out.extend(validate_name(name, NameRule::Label, &format!("{path}.name")));
    }
    let image = str_of(c, "image");
    if image.is_empty() {
        out.push(Cause::required(&format!("{path}.image")));
    } else if image.trim() != image {
        out.push(Cause::invalid(
            &format!("{path}.image"),
            image,
            "must not have leading or trailing whitespace",
        ));
    }
    validate_ports(c, path, out);
    for (i, e) in arr(c, "env").iter().enumerate() {
        let n = str_of(e, "name");
        let p = format!("{path}.env[{i}].name");
        if n.is_empty() {
            out.push(Cause::required(&p));
        } else if !n.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'=') {
            out.push(Cause::invalid(
                &p,
                n,
                "a valid environment variable name must consist only of printable ASCII characters other than '='",
            ));
        }
    }
    let mut mount_paths = HashSet::new();
    for (i, m) in arr(c, "volumeMounts").iter().enumerate() {
        let p = format!("{path}.volumeMounts[{i}]");
        let vname = str_of(m, "name");
        if vname.is_empty() {
            out.push(Cause::required(&format!("{p}.name")));
        }
        if !volumes.contains(vname) {
            out.push(Cause::new(
                "FieldValueNotFound",
                format!("Not found: {}", go_quote(vname)),
                format!("{p}.name"),
            ));
        }
        let mp = str_of(m, "mountPath");
        if mp.is_empty() {
            out.push(Cause::required(&format!("{p}.mountPath")));
        }
        if !mount_paths.insert(mp.to_string()) {
            out.push(Cause::invalid(&format!("{p}.mountPath"), mp, "must be unique"));
        }
        let sub = str_of(m, "subPath");
        if !sub.is_empty() {
            local_descending_path(sub, &format!("{path}.volumeMounts.subPath"), out);
        }
        let expr = str_of(m, "subPathExpr");
        if !expr.is_empty() {
            if !sub.is_empty() {
                out.push(Cause::invalid(
                    &format!("{p}.subPathExpr"),
                    expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            local_descending_path(expr, &format!("{path}.volumeMounts.subPathExpr"), out);
        }
    }
    validate_resources(c, path, out);
}

fn validate_ports(c: &Value, path: &str, out: &mut Vec<Cause>) {
    let mut names = HashSet::new();
    for (i, p) in arr(c, "ports").iter().enumerate() {
        let pp = format!("{path}.ports[{i}]");
        let name = str_of(p, "name");
        if !name.is_empty() {
            let errs = port_name_errors(name);
            if !errs.is_empty() {
                for e in errs {
                    out.push(Cause::invalid(&format!("{pp}.name"), name, e));
                }
            } else if !names.insert(name.to_string()) {
                out.push(duplicate(&format!("{pp}.name"), name));
            }
        }
        match p.get("containerPort").and_then(Value::as_i64).unwrap_or(0) {
            0 => out.push(Cause::required(&format!("{pp}.containerPort"))),
            n if !(1..=65535).contains(&n) => {
                out.push(invalid_int(&format!("{pp}.containerPort"), n, PORT_RANGE));
            }
            _ => {}
        }
        let hp = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
        if hp != 0 && !(1..=65535).contains(&hp) {
            out.push(invalid_int(&format!("{pp}.hostPort"), hp, PORT_RANGE));
        }
        match str_of(p, "protocol") {
            "TCP" | "UDP" | "SCTP" => {}
            "" => out.push(Cause::required(&format!("{pp}.protocol"))),
            pr => out.push(not_supported(&format!("{pp}.protocol"), pr, &["SCTP", "TCP", "UDP"])),
        }
    }
}

const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";

/// `IsValidPortName`.
fn port_name_errors(name: &str) -> Vec<&'static str> {
    let mut errs = Vec::new();
    if name.len() > 15 {
        errs.push("must be no more than 15 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)");
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens");
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen");
    }
    errs
}

/// Requests may not exceed limits; quantities must parse.
fn validate_resources(c: &Value, path: &str, out: &mut Vec<Cause>) {
    let get =
        |section: &str| c.pointer(&format!("/resources/{section}")).and_then(Value::as_object);
    for section in ["limits", "requests"] {
        for (k, v) in get(section).into_iter().flatten() {
            let raw = v.as_str().unwrap_or("");
            match Quantity::parse(raw) {
                None => out.push(Cause::invalid(
                    &format!("{path}.resources.{section}[{k}]"),
                    raw,
                    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                )),
                Some(q) if q < Quantity::ZERO => out.push(Cause::invalid(
                    &format!("{path}.resources.{section}[{k}]"),
                    raw,
                    "must be greater than or equal to 0",
                )),
                Some(_) => {}
            }
        }
    }
    let limits = get("limits");
    for (k, v) in get("requests").into_iter().flatten() {
        let req = v.as_str().and_then(Quantity::parse);
        let lim_raw = limits.and_then(|l| l.get(k)).and_then(Value::as_str);
        if let (Some(req), Some(lim_raw)) = (req, lim_raw)
            && let Some(lim) = Quantity::parse(lim_raw)
            && req > lim
        {
            out.push(Cause::invalid(
                &format!("{path}.resources.requests[{k}]"),
                v.as_str().unwrap_or(""),
                &format!("must be less than or equal to {k} limit of {lim_raw}"),
            ));
        }
    }
}

fn arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn duplicate(field: &str, v: &str) -> Cause {
    Cause::new("FieldValueDuplicate", format!("Duplicate value: {}", go_quote(v)), field)
}

fn not_supported(field: &str, v: &str, allowed: &[&str]) -> Cause {
    let list: Vec<String> = allowed.iter().map(|a| go_quote(a)).collect();
    Cause::new(
        "FieldValueNotSupported",
        format!("Unsupported value: {}: supported values: {}", go_quote(v), list.join(", ")),
        field,
    )
}

fn invalid_int(field: &str, v: i64, why: &str) -> Cause {
    Cause::new("FieldValueInvalid", format!("Invalid value: {v}: {why}"), field)
}
