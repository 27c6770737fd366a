//! A container's environment as the kubelet computes it (`makeEnvironmentVariables`),
//! `$(VAR)` expansion, and the downward API values shared with volumes.

use super::quantity::Quantity;
use super::{ConvertError, PodContext, s, secret_bytes};
use serde_json::Value;

const CONFIG_ERROR: &str = "CreateContainerConfigError";

/// Kubernetes' `expansion.Expand`: `$(VAR)` becomes the variable's value when
/// `lookup` knows it and stays `$(VAR)` otherwise; `$$` is a literal `$`; any
/// other `$` is kept as is. An unterminated `$(` is kept too.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if after.is_empty() {
            // A trailing `$` is copied as is.
            out.push('$');
            rest = after;
            break;
        }
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('(') {
            match tail.find(')') {
                Some(close) => {
                    let name = &tail[..close];
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &tail[close + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = tail;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Ordered environment with "last definition wins, first position kept".
#[derive(Debug, Default, Clone)]
pub(super) struct EnvList(pub Vec<(String, String)>);

impl EnvList {
    fn set(&mut self, k: String, v: String) {
        match self.0.iter_mut().find(|(n, _)| *n == k) {
            Some(e) => e.1 = v,
            None => self.0.push((k, v)),
        }
    }

    pub fn get(&self, k: &str) -> Option<String> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }
}

/// Kubernetes' `IsEnvVarName`: keys of `envFrom` sources that fail it are skipped.
fn is_env_var_name(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty()
        && !b[0].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// The container's environment, in declaration order: `envFrom` sources first,
/// then `env` entries overriding them. Missing required sources fail the way
/// the kubelet fails them (`CreateContainerConfigError`).
pub(super) fn container_env(
    pod: &Value,
    container: &Value,
    ctx: &PodContext,
) -> Result<EnvList, ConvertError> {
    let ns = s(pod, "/metadata/namespace");
    let mut env = EnvList::default();
    let err = |message: String| ConvertError { reason: CONFIG_ERROR, message };
    for from in arr(container, "/envFrom") {
        let prefix = s(from, "/prefix");
        if let Some(r) = from.get("configMapRef") {
            let name = s(r, "/name");
            let Some(cm) = ctx.env.configmap(ns, name) else {
                if optional(r) {
                    continue;
                }
                return Err(err(format!("configmap \"{name}\" not found")));
            };
            if let Some(data) = cm.get("data").and_then(Value::as_object) {
                for (k, v) in data {
                    let key = format!("{prefix}{k}");
                    if is_env_var_name(&key) {
                        env.set(key, v.as_str().unwrap_or("").to_string());
                    }
                }
            }
        } else if let Some(r) = from.get("secretRef") {
            let name = s(r, "/name");
            let Some(secret) = ctx.env.secret(ns, name) else {
                if optional(r) {
                    continue;
                }
                return Err(err(format!("secret \"{name}\" not found")));
            };
            if let Some(data) = secret.get("data").and_then(Value::as_object) {
                for k in data.keys() {
                    let key = format!("{prefix}{k}");
                    if is_env_var_name(&key) {
                        let v = secret_bytes(&secret, k).unwrap_or_default();
                        env.set(key, String::from_utf8_lossy(&v).into_owned());
                    }
                }
            }
        }
    }
    for var in arr(container, "/env") {
        let name = s(var, "/name").to_string();
        let value = s(var, "/value");
        let runtime = if !value.is_empty() {
            let snapshot = env.clone();
            expand(value, &|k| snapshot.get(k))
        } else if let Some(from) = var.get("valueFrom") {
            if let Some(f) = from.get("fieldRef") {
                pod_field_value(pod, s(f, "/fieldPath"), ctx).map_err(err)?
            } else if let Some(r) = from.get("resourceFieldRef") {
                let target = match s(r, "/containerName") {
                    "" => Some(container),
                    c => find_container(pod, c),
                };
                let target = target.ok_or_else(|| {
                    err(format!("container {} not found", s(r, "/containerName")))
                })?;
                resource_value(target, s(r, "/resource"), r.get("divisor")).map_err(err)?
            } else if let Some(r) = from.get("configMapKeyRef") {
                let (name, key) = (s(r, "/name"), s(r, "/key"));
                let Some(cm) = ctx.env.configmap(ns, name) else {
                    if optional(r) {
                        continue;
                    }
                    return Err(err(format!("configmap \"{name}\" not found")));
                };
                match cm.get("data").and_then(|d| d.get(key)).and_then(Value::as_str) {
                    Some(v) => v.to_string(),
                    None if optional(r) => continue,
                    None => {
                        return Err(err(format!(
                            "couldn't find key {key} in ConfigMap {ns}/{name}"
                        )));
                    }
                }
            } else if let Some(r) = from.get("secretKeyRef") {
                let (name, key) = (s(r, "/name"), s(r, "/key"));
                let Some(secret) = ctx.env.secret(ns, name) else {
                    if optional(r) {
                        continue;
                    }
                    return Err(err(format!("secret \"{name}\" not found")));
                };
                match secret_bytes(&secret, key) {
                    Some(v) => String::from_utf8_lossy(&v).into_owned(),
                    None if optional(r) => continue,
                    None => {
                        return Err(err(format!("couldn't find key {key} in Secret {ns}/{name}")));
                    }
                }
            } else {
                String::new()
            }
        } else {
            String::new()
        };
        env.set(name, runtime);
    }
    Ok(env)
}

fn optional(r: &Value) -> bool {
    r.get("optional").and_then(Value::as_bool).unwrap_or(false)
}

pub(super) fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A container of the pod (regular or init) by name.
pub(super) fn find_container<'a>(pod: &'a Value, name: &str) -> Option<&'a Value> {
    arr(pod, "/spec/containers")
        .iter()
        .chain(arr(pod, "/spec/initContainers"))
        .find(|c| s(c, "/name") == name)
}

/// An env `fieldRef`: the pod fields only the kubelet knows (IPs, node), then
/// the metadata fields shared with downwardAPI volumes.
fn pod_field_value(pod: &Value, path: &str, ctx: &PodContext) -> Result<String, String> {
    Ok(match path {
        "spec.nodeName" => match s(pod, "/spec/nodeName") {
            "" => ctx.node_name.to_string(),
            n => n.to_string(),
        },
        "spec.serviceAccountName" => s(pod, "/spec/serviceAccountName").to_string(),
        "status.hostIP" | "status.hostIPs" => ctx.host_ip.to_string(),
        "status.podIP" | "status.podIPs" => ctx.pod_ip.to_string(),
        _ => return metadata_field_value(pod, path),
    })
}

/// `fieldpath.ExtractFieldPathAsString`: metadata fields, whole label and
/// annotation maps as sorted `k="v"` lines, or one key by subscript.
pub(super) fn metadata_field_value(pod: &Value, path: &str) -> Result<String, String> {
    let map = |field: &str| pod.pointer(&format!("/metadata/{field}")).and_then(Value::as_object);
    if let Some((base, rest)) = path.split_once("['")
        && let Some(key) = rest.strip_suffix("']")
    {
        let field = match base {
            "metadata.annotations" => "annotations",
            "metadata.labels" => "labels",
            _ => return Err(format!("fieldPath {} does not support subscript", go_q(path))),
        };
        return Ok(map(field)
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string());
    }
    Ok(match path {
        "metadata.annotations" | "metadata.labels" => {
            let Some(m) = map(&path["metadata.".len()..]) else { return Ok(String::new()) };
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            keys.iter()
                .map(|k| format!("{k}={}", go_q(m[k.as_str()].as_str().unwrap_or(""))))
                .collect::<Vec<_>>()
                .join("\n")
        }
        "metadata.name" => s(pod, "/metadata/name").to_string(),
        "metadata.namespace" => s(pod, "/metadata/namespace").to_string(),
        "metadata.uid" => s(pod, "/metadata/uid").to_string(),
        _ => return Err(format!("unsupported fieldPath: {path}")),
    })
}

fn go_q(v: &str) -> String {
    crate::api::error::go_quote(v)
}

/// `resource.ExtractContainerResourceValue`: the container's limit or request
/// divided by `divisor` (default 1), rounded up. Unset limits count as 0 (the
/// kubelet would substitute node allocatable).
pub(super) fn resource_value(
    container: &Value,
    resource: &str,
    divisor: Option<&Value>,
) -> Result<String, String> {
    let divisor = match divisor.and_then(Value::as_str).and_then(Quantity::parse) {
        Some(d) if !d.is_zero() => d,
        _ => Quantity::parse("1").unwrap_or_default(),
    };
    let (section, name) = resource
        .split_once('.')
        .filter(|(sec, _)| matches!(*sec, "limits" | "requests"))
        .ok_or_else(|| format!("unsupported container resource : {resource}"))?;
    let q = container
        .pointer(&format!("/resources/{section}/{name}"))
        .and_then(Value::as_str)
        .and_then(Quantity::parse)
        .unwrap_or_default();
    let v = match name {
        "cpu" => ceil_ratio(i128::from(q.milli_value()), i128::from(divisor.milli_value())),
        "memory" | "ephemeral-storage" => {
            ceil_ratio(i128::from(q.value()), i128::from(divisor.value()))
        }
        n if n.starts_with("hugepages-") && section == "requests" => {
            ceil_ratio(i128::from(q.value()), i128::from(divisor.value()))
        }
        _ => return Err(format!("unsupported container resource : {resource}")),
    };
    Ok(v.to_string())
}

fn ceil_ratio(a: i128, b: i128) -> i128 {
    if b == 0 {
        return 0;
    }
    let q = a / b;
    if a % b != 0 && (a > 0) == (b > 0) { q + 1 } else { q }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn expansion_follows_kubernetes() {
        let l = lookup(&[("A", "x"), ("B", "y")]);
        assert_eq!(expand("$(A)-$(B)", &l), "x-y");
        assert_eq!(expand("$(MISSING)", &l), "$(MISSING)");
        assert_eq!(expand("$$(A)", &l), "$(A)");
        assert_eq!(expand("$$$(A)", &l), "$x");
        assert_eq!(expand("a$b", &l), "a$b");
        assert_eq!(expand("cost $", &l), "cost $");
        assert_eq!(expand("$(A", &l), "$(A");
        assert_eq!(expand("$()", &l), "$()");
        assert_eq!(expand("é$(A)ü", &l), "éxü");
        assert_eq!(expand("no vars", &l), "no vars");
    }

    #[test]
    fn metadata_fields() {
        let pod = serde_json::json!({"metadata": {"name": "p", "namespace": "ns", "uid": "u",
            "labels": {"b": "2", "a": "say \"hi\""}, "annotations": {"k": "v"}}});
        assert_eq!(
            metadata_field_value(&pod, "metadata.labels").unwrap(),
            "a=\"say \\\"hi\\\"\"\nb=\"2\""
        );
        assert_eq!(metadata_field_value(&pod, "metadata.labels['b']").unwrap(), "2");
        assert_eq!(metadata_field_value(&pod, "metadata.annotations['k']").unwrap(), "v");
        assert_eq!(metadata_field_value(&pod, "metadata.annotations['none']").unwrap(), "");
        assert_eq!(metadata_field_value(&pod, "metadata.uid").unwrap(), "u");
        assert_eq!(
            metadata_field_value(&pod, "spec.bogus").unwrap_err(),
            "unsupported fieldPath: spec.bogus"
        );
        assert!(metadata_field_value(&pod, "metadata.name['x']").is_err());
    }

    #[test]
    fn resource_values_with_divisors() {
        let c = serde_json::json!({"resources": {
            "limits": {"cpu": "1500m", "memory": "128Mi"},
            "requests": {"cpu": "250m", "memory": "64Mi", "ephemeral-storage": "1Gi"}}});
        let d = |s: &str| serde_json::json!(s);
        assert_eq!(resource_value(&c, "limits.cpu", None).unwrap(), "2");
        assert_eq!(resource_value(&c, "limits.cpu", Some(&d("1m"))).unwrap(), "1500");
        assert_eq!(resource_value(&c, "requests.cpu", Some(&d("1m"))).unwrap(), "250");
        assert_eq!(resource_value(&c, "limits.memory", None).unwrap(), "134217728");
        assert_eq!(resource_value(&c, "limits.memory", Some(&d("1Mi"))).unwrap(), "128");
        assert_eq!(resource_value(&c, "requests.memory", Some(&d("1M"))).unwrap(), "68");
        assert_eq!(resource_value(&c, "requests.ephemeral-storage", Some(&d("1Gi"))).unwrap(), "1");
        assert_eq!(resource_value(&c, "limits.ephemeral-storage", None).unwrap(), "0");
        assert!(resource_value(&c, "limits.gpu", None).is_err());
    }

    #[test]
    fn env_var_names() {
        assert!(is_env_var_name("A_B"));
        assert!(is_env_var_name("a.b-c"));
        assert!(!is_env_var_name("1A"));
        assert!(!is_env_var_name("A B"));
        assert!(!is_env_var_name(""));
    }
}
