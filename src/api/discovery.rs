//! Discovery: `/api`, `/apis`, per group-version resource lists, and
//! aggregated discovery (`apidiscovery.k8s.io` v2 and v2beta1), all generated
//! from the kinds registry so they list exactly what k2d serves.

use crate::api::http::{Reply, Request, encode_json};
use crate::kinds::{ResourceType, registry};
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

/// `(group, version)` pairs in registry order, core first.
fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for rt in registry() {
        if !out.contains(&(rt.group, rt.version)) {
            out.push((rt.group, rt.version));
        }
    }
    out
}

fn resources_of(group: &str, version: &str) -> impl Iterator<Item = &'static ResourceType> {
    let (g, v) = (group.to_string(), version.to_string());
    registry().iter().copied().filter(move |rt| rt.group == g && rt.version == v)
}

/// Verbs and response kind of a subresource, as kube-apiserver lists them.
fn subresource_info(rt: &ResourceType, sub: &str) -> (Value, &'static [&'static str]) {
    let same = json!({"group": "", "version": "", "kind": rt.kind});
    match sub {
        "status" => (same, &["get", "patch", "update"]),
        "finalize" => (same, &["update"]),
        "log" => (same, &["get"]),
        "scale" => (
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}),
            &["get", "patch", "update"],
        ),
        "token" => (
            json!({"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"}),
            &["create"],
        ),
        "exec" => {
            (json!({"group": "", "version": "", "kind": "PodExecOptions"}), &["create", "get"])
        }
        "attach" => {
            (json!({"group": "", "version": "", "kind": "PodAttachOptions"}), &["create", "get"])
        }
        "portforward" => (
            json!({"group": "", "version": "", "kind": "PodPortForwardOptions"}),
            &["create", "get"],
        ),
        _ => (same, &["get"]),
    }
}

/// `GET /api`
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

fn group_entry(group: &str) -> Value {
    let versions: Vec<Value> = group_versions()
        .into_iter()
        .filter(|(g, _)| *g == group)
        .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": versions, "preferredVersion": preferred})
}

/// `GET /apis`
pub fn groups() -> Value {
    let mut names: Vec<&str> = Vec::new();
    for (g, _) in group_versions() {
        if !g.is_empty() && !names.contains(&g) {
            names.push(g);
        }
    }
    let groups: Vec<Value> = names.iter().map(|g| group_entry(g)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`, or `None` for a group k2d does not serve.
pub fn group(name: &str) -> Option<Value> {
    if !group_versions().iter().any(|(g, _)| *g == name && !g.is_empty()) {
        return None;
    }
    let mut v = group_entry(name);
    let m = v.as_object_mut()?;
    let mut out = serde_json::Map::new();
    out.insert("kind".into(), json!("APIGroup"));
    out.insert("apiVersion".into(), json!("v1"));
    out.extend(std::mem::take(m));
    Some(Value::Object(out))
}

/// `GET /api/v1`, `GET /apis/<group>/<version>`.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    if !group_versions().contains(&(group, version)) {
        return None;
    }
    let mut resources = Vec::new();
    for rt in resources_of(group, version) {
        let mut r = serde_json::Map::new();
        r.insert("name".into(), json!(rt.plural));
        r.insert("singularName".into(), json!(rt.singular));
        r.insert("namespaced".into(), json!(rt.namespaced));
        r.insert("kind".into(), json!(rt.kind));
        r.insert("verbs".into(), json!(rt.verbs));
        if !rt.short_names.is_empty() {
            r.insert("shortNames".into(), json!(rt.short_names));
        }
        if !rt.categories.is_empty() {
            r.insert("categories".into(), json!(rt.categories));
        }
        resources.push(Value::Object(r));
        let mut subs: Vec<&str> = rt.subresources.to_vec();
        subs.sort_unstable();
        for sub in subs {
            let (kind, verbs) = subresource_info(rt, sub);
            let mut s = serde_json::Map::new();
            s.insert("name".into(), json!(format!("{}/{sub}", rt.plural)));
            s.insert("singularName".into(), json!(""));
            s.insert("namespaced".into(), json!(rt.namespaced));
            if !kind["group"].as_str().unwrap_or("").is_empty() {
                s.insert("group".into(), kind["group"].clone());
                s.insert("version".into(), kind["version"].clone());
            }
            s.insert("kind".into(), kind["kind"].clone());
            s.insert("verbs".into(), json!(verbs));
            resources.push(Value::Object(s));
        }
    }
    let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

fn aggregated_resource(rt: &ResourceType) -> Value {
    let mut r = serde_json::Map::new();
    r.insert("resource".into(), json!(rt.plural));
    r.insert("responseKind".into(), json!({"group": "", "version": "", "kind": rt.kind}));
    r.insert("scope".into(), json!(if rt.namespaced { "Namespaced" } else { "Cluster" }));
    r.insert("singularResource".into(), json!(rt.singular));
    r.insert("verbs".into(), json!(rt.verbs));
    if !rt.short_names.is_empty() {
        r.insert("shortNames".into(), json!(rt.short_names));
    }
    if !rt.categories.is_empty() {
        r.insert("categories".into(), json!(rt.categories));
    }
    if !rt.subresources.is_empty() {
        let mut subs: Vec<&str> = rt.subresources.to_vec();
        subs.sort_unstable();
        let list: Vec<Value> = subs
            .into_iter()
            .map(|s| {
                let (kind, verbs) = subresource_info(rt, s);
                json!({"subresource": s, "responseKind": kind, "verbs": verbs})
            })
            .collect();
        r.insert("subresources".into(), Value::Array(list));
    }
    Value::Object(r)
}

/// Aggregated discovery for `/api` (core only) or `/apis` (every group).
pub fn aggregated(core: bool, version: &str) -> Value {
    let mut items = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (g, _) in group_versions() {
        if g.is_empty() != core || seen.contains(&g) {
            continue;
        }
        seen.push(g);
        let versions: Vec<Value> = group_versions()
            .into_iter()
            .filter(|(gg, _)| *gg == g)
            .map(|(_, v)| {
                let resources: Vec<Value> = resources_of(g, v).map(aggregated_resource).collect();
                json!({"version": v, "resources": resources, "freshness": "Current"})
            })
            .collect();
        let mut meta = serde_json::Map::new();
        if !g.is_empty() {
            meta.insert("name".into(), json!(g));
        }
        meta.insert("creationTimestamp".into(), Value::Null);
        items.push(json!({"metadata": meta, "versions": versions}));
    }
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items
    })
}

/// Which aggregated discovery version the client accepts, if any (first wins).
pub fn wants_aggregated(accept: &str) -> Option<&'static str> {
    for part in accept.split(',') {
        let p: Vec<&str> = part.split(';').map(str::trim).collect();
        let has = |x: &str| p.contains(&x);
        if has("g=apidiscovery.k8s.io") && has("as=APIGroupDiscoveryList") {
            if has("v=v2") {
                return Some("v2");
            }
            if has("v=v2beta1") {
                return Some("v2beta1");
            }
        }
        // A plain JSON type listed before the aggregated one is preferred.
        if p.first().is_some_and(|t| *t == "application/json" || *t == "*/*") && p.len() == 1 {
            return None;
        }
    }
    None
}

/// Serve aggregated discovery with the caching headers kubectl relies on.
pub fn aggregated_reply(req: &Request, core: bool, version: &str) -> Reply {
    let body = encode_json(&aggregated(core, version), false);
    let etag = format!("\"{}\"", hex_upper(&Sha512::digest(&body)));
    let ct = format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    let reply = if req.header("if-none-match") == Some(etag.as_str()) {
        Reply { status: 304, headers: Vec::new(), body: Vec::new() }
    } else {
        Reply::new(200, &ct, body)
    };
    reply.header("Cache-Control", "public").header("Etag", &etag).header("Vary", "Accept")
}

pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_list_has_configmaps_with_short_name() {
        let l = resource_list("", "v1").unwrap();
        let cm =
            l["resources"].as_array().unwrap().iter().find(|r| r["name"] == "configmaps").unwrap();
        assert_eq!(cm["shortNames"], json!(["cm"]));
        assert!(
            l["resources"].as_array().unwrap().iter().any(|r| r["name"] == "namespaces/status")
        );
    }

    #[test]
    fn aggregated_accept_parsing() {
        assert_eq!(
            wants_aggregated(
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
            ),
            Some("v2")
        );
        assert_eq!(wants_aggregated("application/json"), None);
        assert_eq!(
            wants_aggregated(
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
            ),
            Some("v2beta1")
        );
    }

    #[test]
    fn groups_exclude_core() {
        let g = groups();
        assert!(g["groups"].as_array().unwrap().iter().all(|x| x["name"] != ""));
        assert!(group("events.k8s.io").is_some());
        assert!(group("nope").is_none());
    }
}
