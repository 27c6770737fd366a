//! URL → what is being asked for. Kubernetes paths are regular enough that one
//! parser serves every kind: `/api/v1[/namespaces/<ns>]/<plural>[/<name>[/<sub>]]`
//! and the same under `/apis/<group>/<version>`.

use crate::api::error::{ApiError, ApiResult};
use crate::kinds::{self, ResourceType};

/// A request for a resource (as opposed to discovery or health).
#[derive(Clone)]
pub struct Target {
    pub rt: &'static ResourceType,
    /// The namespace from the path (`None` for cluster-wide requests).
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The old `/api/v1/watch/...` form.
    pub watch_path: bool,
}

pub enum Route {
    Version,
    Health(String),
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/<group>`
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`
    ResourceList {
        group: String,
        version: String,
    },
    OpenApi,
    Kubeconfig,
    Resource(Target),
    /// A path k2d does not serve: plain-text 404 as kube-apiserver does.
    NotFound,
}

pub fn route(path: &str) -> ApiResult<Route> {
    let p = path.trim_end_matches('/');
    match p {
        "/version" => return Ok(Route::Version),
        "/api" => return Ok(Route::CoreVersions),
        "/apis" => return Ok(Route::Groups),
        "/k2d/kubeconfig" => return Ok(Route::Kubeconfig),
        _ => {}
    }
    for h in ["/healthz", "/livez", "/readyz"] {
        if p == h || p.starts_with(&format!("{h}/")) {
            return Ok(Route::Health(p.to_string()));
        }
    }
    if p.starts_with("/openapi/") || p == "/openapi" {
        return Ok(Route::OpenApi);
    }
    let segs: Vec<&str> = p.split('/').skip(1).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g] => return Ok(Route::Group(g.to_string())),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Ok(Route::NotFound),
    };
    if rest.is_empty() {
        return Ok(Route::ResourceList { group: group.into(), version: version.into() });
    }
    let (watch_path, rest) = match rest {
        ["watch", r @ ..] => (true, r),
        r => (false, r),
    };
    // `namespaces/<ns>/<plural>...` is namespaced, unless what follows the
    // namespace name is one of the Namespace's own subresources.
    let (namespace, rest): (Option<&str>, &[&str]) = match rest {
        ["namespaces", _, sub] if is_namespace_subresource(sub) => (None, &rest[..3]),
        ["namespaces", ns, more @ ..] if !more.is_empty() => (Some(*ns), more),
        r => (None, r),
    };
    let (plural, name, sub) = match rest {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(*n), None),
        [p, n, s] => (*p, Some(*n), Some(*s)),
        _ => return Err(ApiError::unknown_resource()),
    };
    let Some(rt) = kinds::find(group, version, plural) else {
        if group == "autoscaling" && plural == "horizontalpodautoscalers" {
            // `kubectl autoscale` would otherwise say only "the server could
            // not find the requested resource".
            return Err(ApiError::new(
                404,
                "NotFound",
                "horizontalpodautoscalers.autoscaling are not supported by k2d (there is no metrics pipeline to scale on); use kubectl scale",
            ));
        }
        return Err(ApiError::unknown_resource());
    };
    if namespace.is_some() && !rt.namespaced {
        return Err(ApiError::unknown_resource());
    }
    if let Some(s) = sub
        && !rt.subresources.contains(&s)
    {
        return Err(ApiError::unknown_resource());
    }
    if name.is_some_and(str::is_empty) || namespace.is_some_and(str::is_empty) {
        return Err(ApiError::unknown_resource());
    }
    Ok(Route::Resource(Target {
        rt,
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        subresource: sub.map(str::to_string),
        watch_path,
    }))
}

fn is_namespace_subresource(s: &str) -> bool {
    matches!(s, "status" | "finalize")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> Target {
        match route(path) {
            Ok(Route::Resource(t)) => t,
            _ => panic!("{path} is not a resource route"),
        }
    }

    #[test]
    fn namespaced_and_cluster_paths() {
        let t = target("/api/v1/namespaces/demo/configmaps/x");
        assert_eq!(
            (t.rt.plural, t.namespace.as_deref(), t.name.as_deref()),
            ("configmaps", Some("demo"), Some("x"))
        );
        let t = target("/api/v1/configmaps");
        assert!(t.namespace.is_none() && t.name.is_none());
        let t = target("/api/v1/namespaces/demo");
        assert_eq!((t.rt.plural, t.name.as_deref()), ("namespaces", Some("demo")));
        let t = target("/api/v1/namespaces/demo/status");
        assert_eq!((t.rt.plural, t.subresource.as_deref()), ("namespaces", Some("status")));
        let t = target("/apis/events.k8s.io/v1/namespaces/d/events");
        assert_eq!(t.rt.group, "events.k8s.io");
    }

    #[test]
    fn unknown_resources_are_404() {
        assert!(route("/api/v1/widgets").is_err());
        assert!(route("/api/v1/namespaces/x/nodes").is_err());
        assert!(route("/api/v1/configmaps/x/bogus").is_err());
    }
}
