//! Issue 2 acceptance with real kubectl against the real binary: cluster
//! commands, ConfigMap/Secret round trips, watches and the file store.
//! All tests share one k2d and each works in its own namespace.

mod common;

use common::{DEFAULT, K2d, Req, seed_cm, shared};
use serde_json::Value;
use std::time::Duration;

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn cm_yaml(name: &str, data: &[(&str, &str)]) -> String {
    let mut y = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n");
    for (k, v) in data {
        y.push_str(&format!("  {k}: \"{v}\"\n"));
    }
    y
}

fn jsonpath(k: &K2d, ns: &str, obj: &str, path: &str) -> String {
    k.ok(DEFAULT, &["-n", ns, "get", obj, "-o", &format!("jsonpath={path}")])
}

// ---------------------------------------------------------------- cluster

#[test]
fn kubectl_version_reports_server() {
    let k = shared();
    let out = k.ok(DEFAULT, &["version", "-o", "json"]);
    let v = json_of(&out);
    let git = v["serverVersion"]["gitVersion"].as_str().unwrap_or_default();
    assert!(git.starts_with("v1.33."), "serverVersion.gitVersion = {git:?} in {out}");
    assert_eq!(v["serverVersion"]["major"], "1", "{out}");
    assert_eq!(v["serverVersion"]["minor"], "33", "{out}");
    let text = k.ok(DEFAULT, &["version"]);
    assert!(text.contains("Server Version: v1.33"), "{text}");
}

#[test]
fn api_resources_lists_kinds_with_short_names() {
    let k = shared();
    let out = k.ok(DEFAULT, &["api-resources", "--api-group="]);
    let want = [
        ("configmaps", Some("cm"), "ConfigMap", "true"),
        ("secrets", None, "Secret", "true"),
        ("namespaces", Some("ns"), "Namespace", "false"),
        ("nodes", Some("no"), "Node", "false"),
        ("events", Some("ev"), "Event", "true"),
        ("serviceaccounts", Some("sa"), "ServiceAccount", "true"),
    ];
    for (name, short, kind, namespaced) in want {
        let row: Vec<&str> = out
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|cols| cols.first() == Some(&name))
            .unwrap_or_else(|| panic!("no row for {name} in:\n{out}"));
        let expect: Vec<&str> = match short {
            Some(s) => vec![name, s, "v1", namespaced, kind],
            None => vec![name, "v1", namespaced, kind],
        };
        assert_eq!(row, expect, "row for {name} in:\n{out}");
    }
    // events.k8s.io is served too (for `kubectl events`).
    let all = k.ok(DEFAULT, &["api-resources"]);
    assert!(all.contains("events.k8s.io/v1"), "{all}");
    // Verbs: what kubectl needs to decide e.g. whether `delete -l` may use deletecollection.
    let wide = k.ok(DEFAULT, &["api-resources", "-o", "wide", "--api-group="]);
    let cm = wide.lines().find(|l| l.starts_with("configmaps")).unwrap_or_default();
    for verb in ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    {
        assert!(cm.contains(verb), "configmaps lacks verb {verb}: {cm}");
    }
}

#[test]
fn api_versions_lists_groups() {
    let k = shared();
    let out = k.ok(DEFAULT, &["api-versions"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"v1"), "{out}");
    assert!(lines.contains(&"events.k8s.io/v1"), "{out}");
}

#[test]
fn get_namespaces_shows_system_namespaces() {
    let k = shared();
    let out = k.ok(DEFAULT, &["get", "ns"]);
    assert!(out.starts_with("NAME"), "{out}");
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(ns))
            .unwrap_or_else(|| panic!("no {ns} in:\n{out}"));
        assert!(line.contains("Active"), "{line}");
    }
}

#[test]
fn create_namespace() {
    let k = shared();
    let ns = "created-by-kubectl";
    let out = k.ok(DEFAULT, &["create", "ns", ns]);
    assert!(out.contains(&format!("namespace/{ns} created")), "{out}");
    assert_eq!(k.ok(DEFAULT, &["get", "ns", ns, "-o", "jsonpath={.status.phase}"]), "Active");
    let label = k.ok(
        DEFAULT,
        &["get", "ns", ns, "-o", "jsonpath={.metadata.labels.kubernetes\\.io/metadata\\.name}"],
    );
    assert_eq!(label, ns);
    // The default ServiceAccount appears in every namespace.
    common::eventually("serviceaccount default", Duration::from_secs(10), || {
        k.kubectl(DEFAULT, &["-n", ns, "get", "sa", "default"]).status.success().then_some(())
    });
    // Creating it again is AlreadyExists.
    let err = k.fails(DEFAULT, &["create", "ns", ns]);
    assert!(err.contains("AlreadyExists") && err.contains(ns), "{err}");
    k.ok(DEFAULT, &["delete", "ns", ns]);
}

#[test]
fn delete_namespace_goes_through_terminating_and_waits_until_gone() {
    let k = shared();
    let ns = "deleted-by-kubectl";
    // Created without kubectl so that this test does not depend on `create ns`.
    common::post(
        k,
        "/api/v1/namespaces",
        &serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
    );
    // Something inside it, which deleting the namespace must remove.
    seed_cm(k, ns, "inside", &[("a", "1")], &[]);
    let field = format!("metadata.name={ns}");
    let mut w = k.kubectl_spawn(
        DEFAULT,
        &["get", "ns", "-w", "--output-watch-events", "--field-selector", &field],
    );
    w.expect_line("ADDED", Duration::from_secs(10), |l| l.starts_with("ADDED"));

    let out = k.ok(DEFAULT, &["delete", "ns", ns, "--timeout=60s"]);
    assert!(out.contains(&format!("namespace \"{ns}\" deleted")), "{out}");
    // `kubectl delete` waits by default: the namespace is gone when it returns.
    let err = k.fails(DEFAULT, &["get", "ns", ns]);
    assert!(err.contains("NotFound") && err.contains(ns), "{err}");
    let r = k.curl(Req::get(&format!("/api/v1/namespaces/{ns}/configmaps/inside")));
    assert_eq!(r.status, 404, "configmap inside a deleted namespace: {}", r.body);
    // On the way it was Terminating, as in Kubernetes.
    w.expect_line("MODIFIED ... Terminating", Duration::from_secs(10), |l| {
        l.starts_with("MODIFIED") && l.contains("Terminating")
    });
    w.expect_line("DELETED", Duration::from_secs(10), |l| l.starts_with("DELETED"));
    w.stop();
}

#[test]
fn get_nodes_wide() {
    let k = shared();
    let out = k.ok(DEFAULT, &["get", "nodes", "-o", "wide"]);
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    for col in
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE"]
    {
        assert!(header.contains(&col), "missing column {col}:\n{out}");
    }
    assert!(out.contains("CONTAINER-RUNTIME"), "{out}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "exactly one node expected:\n{out}");
    let row = rows[0];
    assert!(row.contains(" Ready "), "node not Ready: {row}");
    assert!(row.contains("docker://"), "no docker runtime: {row}");
    assert!(row.contains("127.0.0.1"), "advertise address not the InternalIP: {row}");
}

#[test]
fn describe_node() {
    let k = shared();
    let name = k.ok(DEFAULT, &["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);
    assert!(!name.is_empty());
    let out = k.ok(DEFAULT, &["describe", "node", &name]);
    for want in [
        &format!("Name:               {name}") as &str,
        "Roles:",
        "Addresses:",
        "InternalIP:",
        "Capacity:",
        "Allocatable:",
        "System Info:",
        "Container Runtime Version:  docker://",
        "Ready",
        "cpu:",
        "memory:",
    ] {
        assert!(out.contains(want), "describe node lacks {want:?}:\n{out}");
    }
}

// ---------------------------------------------------------------- apply

#[test]
fn apply_creates_then_changes_a_key() {
    let k = shared();
    let ns = k.namespace("apply-roundtrip");
    let n = ns.name.as_str();
    let out = k.ok_stdin(
        DEFAULT,
        &["-n", n, "apply", "-f", "-"],
        &cm_yaml("app", &[("a", "1"), ("b", "2")]),
    );
    assert!(out.contains("configmap/app created"), "{out}");
    let rv1 = jsonpath(k, n, "cm/app", "{.metadata.resourceVersion}");

    let out =
        k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &cm_yaml("app", &[("a", "changed")]));
    assert!(out.contains("configmap/app configured"), "{out}");
    let obj = json_of(&k.ok(DEFAULT, &["-n", n, "get", "cm", "app", "-o", "json"]));
    assert_eq!(
        obj["data"],
        serde_json::json!({"a": "changed"}),
        "b was removed from the manifest: {obj}"
    );
    let rv2 = obj["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string();
    assert!(rv2.parse::<u64>().unwrap() > rv1.parse::<u64>().unwrap(), "rv {rv1} -> {rv2}");
    assert!(
        obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .is_some_and(|s| s.contains("changed")),
        "{obj}"
    );

    let out =
        k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &cm_yaml("app", &[("a", "changed")]));
    assert!(out.contains("configmap/app unchanged"), "{out}");

    // The same for a Secret, with stringData folded into data.
    let secret =
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  user: admin\n";
    let out = k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], secret);
    assert!(out.contains("secret/creds created"), "{out}");
    assert_eq!(jsonpath(k, n, "secret/creds", "{.data.user}"), "YWRtaW4=");
    let out = k.ok_stdin(DEFAULT, &["-n", n, "apply", "-f", "-"], &secret.replace("admin", "root"));
    assert!(out.contains("secret/creds configured"), "{out}");
    assert_eq!(jsonpath(k, n, "secret/creds", "{.data.user}"), "cm9vdA==");
    assert_eq!(jsonpath(k, n, "secret/creds", "{.type}"), "Opaque");
}

#[test]
fn apply_server_side_conflict_and_force() {
    let k = shared();
    let ns = k.namespace("apply-ssa");
    let n = ns.name.as_str();
    let a = cm_yaml("shared", &[("color", "red"), ("size", "L")]);
    let out = k.ok_stdin(
        DEFAULT,
        &["-n", n, "apply", "--server-side", "--field-manager=owner-a", "-f", "-"],
        &a,
    );
    assert!(out.contains("configmap/shared serverside-applied"), "{out}");

    let b = cm_yaml("shared", &[("color", "blue")]);
    let err = k.fails_stdin(
        DEFAULT,
        &["-n", n, "apply", "--server-side", "--field-manager=owner-b", "-f", "-"],
        &b,
    );
    assert!(err.to_lowercase().contains("conflict"), "{err}");
    assert!(
        err.contains("owner-a") && err.contains(".data.color"),
        "conflict should name manager and field: {err}"
    );
    assert_eq!(
        jsonpath(k, n, "cm/shared", "{.data.color}"),
        "red",
        "a failed apply changed the object"
    );

    let out = k.ok_stdin(
        DEFAULT,
        &[
            "-n",
            n,
            "apply",
            "--server-side",
            "--field-manager=owner-b",
            "--force-conflicts",
            "-f",
            "-",
        ],
        &b,
    );
    assert!(out.contains("serverside-applied"), "{out}");
    let obj = json_of(
        &k.ok(DEFAULT, &["-n", n, "get", "cm", "shared", "-o", "json", "--show-managed-fields"]),
    );
    assert_eq!(obj["data"]["color"], "blue", "{obj}");
    assert_eq!(obj["data"]["size"], "L", "owner-a still owns size: {obj}");
    let managers: Vec<&str> = obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["manager"].as_str()).collect())
        .unwrap_or_default();
    assert!(managers.contains(&"owner-a") && managers.contains(&"owner-b"), "{obj}");
    let b_fields = obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["manager"] == "owner-b"))
        .map(|m| m["fieldsV1"].to_string())
        .unwrap_or_default();
    assert!(b_fields.contains("f:color"), "owner-b should own color after force: {b_fields}");
}

#[test]
fn apply_validate_strict_names_misspelled_field() {
    let k = shared();
    let ns = k.namespace("apply-strict");
    let n = ns.name.as_str();
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\ndtaa:\n  a: \"1\"\n";
    let err = k.fails_stdin(DEFAULT, &["-n", n, "apply", "--validate=strict", "-f", "-"], bad);
    assert!(err.contains("dtaa"), "the error should name the misspelled field: {err}");
    assert!(err.contains("unknown field"), "{err}");
    let err = k.fails(DEFAULT, &["-n", n, "get", "cm", "typo"]);
    assert!(err.contains("NotFound"), "{err}");
}

#[test]
fn explain_configmap_data() {
    let k = shared();
    let out = k.ok(DEFAULT, &["explain", "configmap.data"]);
    assert!(out.contains("KIND:") && out.contains("ConfigMap"), "{out}");
    assert!(out.contains("FIELD:") && out.contains("data"), "{out}");
    assert!(out.contains("map[string]string"), "{out}");
}

#[test]
fn diff_exit_codes() {
    let k = shared();
    let ns = k.namespace("diff");
    let n = ns.name.as_str();
    seed_cm(k, n, "d", &[("a", "1")], &[]);
    let same = cm_yaml("d", &[("a", "1")]);
    let out = k.kubectl_stdin(DEFAULT, &["-n", n, "diff", "-f", "-"], &same);
    assert_eq!(
        out.status.code(),
        Some(0),
        "diff of an unchanged object: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));

    let changed = cm_yaml("d", &[("a", "2")]);
    let out = k.kubectl_stdin(DEFAULT, &["-n", n, "diff", "-f", "-"], &changed);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "diff of a changed object: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("-  a: \"1\"") && stdout.contains("+  a: \"2\""), "{stdout}");
    // diff is a dry run: nothing changed on the server.
    assert_eq!(jsonpath(k, n, "cm/d", "{.data.a}"), "1");
}

// ---------------------------------------------------------------- patch, label, replace, edit

#[test]
fn patch_strategic_merge_json() {
    let k = shared();
    let ns = k.namespace("patch");
    let n = ns.name.as_str();
    seed_cm(k, n, "p", &[("keep", "k"), ("drop", "x")], &[]);

    let out = k.ok(
        DEFAULT,
        &["-n", n, "patch", "cm", "p", "--type", "strategic", "-p", r#"{"data":{"s":"1"}}"#],
    );
    assert!(out.contains("configmap/p patched"), "{out}");
    let out = k.ok(
        DEFAULT,
        &[
            "-n",
            n,
            "patch",
            "cm",
            "p",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"m":"2","drop":null}}"#,
        ],
    );
    assert!(out.contains("configmap/p patched"), "{out}");
    let out = k.ok(
        DEFAULT,
        &["-n", n, "patch", "cm", "p", "--type", "json", "-p", r#"[{"op":"replace","path":"/data/s","value":"3"},{"op":"add","path":"/data/j","value":"4"}]"#],
    );
    assert!(out.contains("configmap/p patched"), "{out}");
    let obj = json_of(&k.ok(DEFAULT, &["-n", n, "get", "cm", "p", "-o", "json"]));
    assert_eq!(
        obj["data"],
        serde_json::json!({"keep": "k", "s": "3", "m": "2", "j": "4"}),
        "{obj}"
    );

    // A patch that changes nothing answers "patched (no change)".
    let out = k.ok(
        DEFAULT,
        &["-n", n, "patch", "cm", "p", "--type", "merge", "-p", r#"{"data":{"m":"2"}}"#],
    );
    assert!(out.contains("(no change)"), "{out}");

    // A failing json-patch test op is rejected and changes nothing.
    let err = k.fails(
        DEFAULT,
        &[
            "-n",
            n,
            "patch",
            "cm",
            "p",
            "--type",
            "json",
            "-p",
            r#"[{"op":"test","path":"/data/m","value":"nope"},{"op":"remove","path":"/data/m"}]"#,
        ],
    );
    assert!(!err.is_empty());
    assert_eq!(jsonpath(k, n, "cm/p", "{.data.m}"), "2");

    // Strategic merge on a Secret (stringData is folded into data).
    common::post(
        k,
        &format!("/api/v1/namespaces/{n}/secrets"),
        &serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "YQ=="}}),
    );
    k.ok(
        DEFAULT,
        &[
            "-n",
            n,
            "patch",
            "secret",
            "s",
            "--type",
            "strategic",
            "-p",
            r#"{"stringData":{"b":"bee"}}"#,
        ],
    );
    assert_eq!(jsonpath(k, n, "secret/s", "{.data.b}"), "YmVl");
    assert_eq!(jsonpath(k, n, "secret/s", "{.data.a}"), "YQ==");
}

#[test]
fn label_and_annotate() {
    let k = shared();
    let ns = k.namespace("label");
    let n = ns.name.as_str();
    seed_cm(k, n, "l", &[("a", "1")], &[]);
    let out = k.ok(DEFAULT, &["-n", n, "label", "cm", "l", "env=prod", "tier=web"]);
    assert!(out.contains("configmap/l labeled"), "{out}");
    assert_eq!(
        k.ok(DEFAULT, &["-n", n, "get", "cm", "-l", "env=prod", "-o", "name"]).trim(),
        "configmap/l"
    );
    // Changing a label needs --overwrite, as in Kubernetes.
    let err = k.fails(DEFAULT, &["-n", n, "label", "cm", "l", "env=dev"]);
    assert!(err.contains("already has a value"), "{err}");
    k.ok(DEFAULT, &["-n", n, "label", "cm", "l", "env=dev", "--overwrite"]);
    k.ok(DEFAULT, &["-n", n, "label", "cm", "l", "tier-"]);
    let labels =
        json_of(&k.ok(DEFAULT, &["-n", n, "get", "cm", "l", "-o", "jsonpath={.metadata.labels}"]));
    assert_eq!(labels, serde_json::json!({"env": "dev"}));

    let out = k.ok(DEFAULT, &["-n", n, "annotate", "cm", "l", "note=hello world"]);
    assert!(out.contains("configmap/l annotated"), "{out}");
    assert_eq!(jsonpath(k, n, "cm/l", "{.metadata.annotations.note}"), "hello world");
    k.ok(DEFAULT, &["-n", n, "annotate", "cm", "l", "note-"]);
    assert_eq!(jsonpath(k, n, "cm/l", "{.metadata.annotations.note}"), "");
}

#[test]
fn replace_from_file() {
    let k = shared();
    let ns = k.namespace("replace");
    let n = ns.name.as_str();
    seed_cm(k, n, "r", &[("a", "1")], &[]);
    let mut obj = json_of(&k.ok(DEFAULT, &["-n", n, "get", "cm", "r", "-o", "json"]));
    let rv = obj["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string();
    obj["data"] = serde_json::json!({"a": "replaced", "b": "new"});
    let out = k.ok_stdin(DEFAULT, &["-n", n, "replace", "-f", "-"], &obj.to_string());
    assert!(out.contains("configmap/r replaced"), "{out}");
    let now = json_of(&k.ok(DEFAULT, &["-n", n, "get", "cm", "r", "-o", "json"]));
    assert_eq!(now["data"], serde_json::json!({"a": "replaced", "b": "new"}), "{now}");

    // Replacing again with the now stale resourceVersion is a conflict.
    let err = k.fails_stdin(DEFAULT, &["-n", n, "replace", "-f", "-"], &obj.to_string());
    assert!(
        err.contains("Conflict") || err.contains("the object has been modified"),
        "stale rv {rv}: {err}"
    );

    // replace --force deletes and recreates.
    obj["data"] = serde_json::json!({"forced": "yes"});
    obj["metadata"].as_object_mut().map(|m| m.remove("resourceVersion"));
    let out = k.ok_stdin(DEFAULT, &["-n", n, "replace", "--force", "-f", "-"], &obj.to_string());
    assert!(out.contains("configmap/r replaced") || out.contains("deleted"), "{out}");
    assert_eq!(jsonpath(k, n, "cm/r", "{.data.forced}"), "yes");
}

#[test]
fn edit_with_editor_script() {
    let k = shared();
    let ns = k.namespace("edit");
    let n = ns.name.as_str();
    seed_cm(k, n, "e", &[("greeting", "old-value")], &[]);
    let editor = k.script("editor.sh", r#"sed -i 's/old-value/new-value/' "$1""#);
    let editor = editor.to_string_lossy().into_owned();
    let out = k.kubectl_env(
        DEFAULT,
        &["-n", n, "edit", "cm", "e"],
        &[("EDITOR", &editor), ("KUBE_EDITOR", &editor)],
    );
    let stdout = k.expect_ok(DEFAULT, &["-n", n, "edit", "cm", "e"], &out);
    assert!(stdout.contains("configmap/e edited"), "{stdout}");
    assert_eq!(jsonpath(k, n, "cm/e", "{.data.greeting}"), "new-value");

    // An editor that changes nothing: "Edit cancelled, no changes made."
    let noop = k.script("noop-editor.sh", "true");
    let noop = noop.to_string_lossy().into_owned();
    let out = k.kubectl_env(
        DEFAULT,
        &["-n", n, "edit", "cm", "e"],
        &[("EDITOR", &noop), ("KUBE_EDITOR", &noop)],
    );
    let all =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && all.contains("no changes"), "{all}");
}

// ---------------------------------------------------------------- get

#[test]
fn get_output_formats() {
    let k = shared();
    let ns = k.namespace("get-output");
    let n = ns.name.as_str();
    seed_cm(k, n, "o", &[("a", "1"), ("b", "2")], &[("app", "demo")]);

    let yaml = k.ok(DEFAULT, &["-n", n, "get", "cm", "o", "-o", "yaml"]);
    for want in [
        "apiVersion: v1",
        "kind: ConfigMap",
        "name: o",
        &format!("namespace: {n}"),
        "resourceVersion:",
        "uid:",
        "creationTimestamp:",
        "  a: \"1\"",
    ] {
        assert!(yaml.contains(want), "yaml lacks {want:?}:\n{yaml}");
    }
    let obj = json_of(&k.ok(DEFAULT, &["-n", n, "get", "cm", "o", "-o", "json"]));
    assert_eq!(obj["kind"], "ConfigMap");
    assert_eq!(obj["data"]["b"], "2");
    assert_eq!(obj["metadata"]["labels"]["app"], "demo");
    let list = json_of(&k.ok(DEFAULT, &["-n", n, "get", "cm", "-o", "json"]));
    assert_eq!(list["kind"], "List", "{list}");
    assert!(
        list["items"].as_array().is_some_and(|i| i.iter().any(|o| o["metadata"]["name"] == "o")),
        "{list}"
    );

    let table = k.ok(DEFAULT, &["-n", n, "get", "cm", "o"]);
    let lines: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], vec!["NAME", "DATA", "AGE"], "{table}");
    assert_eq!(&lines[1][..2], &["o", "2"], "{table}");
    let wide = k.ok(DEFAULT, &["-n", n, "get", "cm", "o", "-o", "wide"]);
    assert!(wide.starts_with("NAME") && wide.contains("\no "), "{wide}");
    let labels = k.ok(DEFAULT, &["-n", n, "get", "cm", "o", "--show-labels"]);
    assert!(labels.contains("app=demo"), "{labels}");

    assert_eq!(k.ok(DEFAULT, &["-n", n, "get", "cm", "o", "-o", "name"]).trim(), "configmap/o");
    assert_eq!(jsonpath(k, n, "cm/o", "{.data.a}"), "1");
    let names = k.ok(DEFAULT, &["-n", n, "get", "cm", "-o", "jsonpath={.items[*].metadata.name}"]);
    assert!(names.split(' ').any(|x| x == "o"), "{names}");
    let cols = k.ok(
        DEFAULT,
        &["-n", n, "get", "cm", "o", "-o", "custom-columns=N:.metadata.name,A:.data.a"],
    );
    assert!(
        cols.contains("N")
            && cols.lines().nth(1).is_some_and(|l| l.split_whitespace().eq(["o", "1"])),
        "{cols}"
    );

    // Cluster-wide listing shows the namespace column.
    let all = k.ok(DEFAULT, &["get", "cm", "-A"]);
    assert!(all.starts_with("NAMESPACE"), "{all}");
    assert!(all.lines().any(|l| l.split_whitespace().take(2).eq([n, "o"])), "{all}");

    let err = k.fails(DEFAULT, &["-n", n, "get", "cm", "missing"]);
    assert!(err.contains("configmaps \"missing\" not found"), "{err}");
}

#[test]
fn get_with_label_and_field_selectors() {
    let k = shared();
    let ns = k.namespace("selectors");
    let n = ns.name.as_str();
    seed_cm(k, n, "one", &[("a", "1")], &[("tier", "front"), ("env", "prod")]);
    seed_cm(k, n, "two", &[("a", "1")], &[("tier", "back"), ("env", "prod")]);
    seed_cm(k, n, "three", &[("a", "1")], &[("env", "dev")]);

    let names = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["-n", n, "get", "cm", "-o", "name"];
        a.extend_from_slice(args);
        let mut v: Vec<String> = k
            .ok(DEFAULT, &a)
            .lines()
            .map(|l| l.trim_start_matches("configmap/").to_string())
            .collect();
        v.retain(|x| x != "kube-root-ca.crt");
        v.sort();
        v
    };
    assert_eq!(names(&["-l", "tier=front"]), ["one"]);
    assert_eq!(names(&["-l", "env=prod"]), ["one", "two"]);
    assert_eq!(names(&["-l", "env!=prod"]), ["three"]);
    assert_eq!(names(&["-l", "tier in (front,back)"]), ["one", "two"]);
    assert_eq!(names(&["-l", "tier notin (front)"]), ["three", "two"]);
    assert_eq!(names(&["-l", "tier"]), ["one", "two"]);
    assert_eq!(names(&["-l", "!tier"]), ["three"]);
    assert_eq!(names(&["-l", "env=prod,tier=back"]), ["two"]);
    assert_eq!(names(&["--field-selector", "metadata.name=two"]), ["two"]);
    assert_eq!(names(&["--field-selector", "metadata.name!=two", "-l", "env"]), ["one", "three"]);
    assert_eq!(
        names(&["--field-selector", &format!("metadata.namespace={n}"), "-l", "env=dev"]),
        ["three"]
    );

    // A kind-specific field: Secret type.
    common::post(
        k,
        &format!("/api/v1/namespaces/{n}/secrets"),
        &serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "dock"},
            "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "e30="}}),
    );
    let out = k.ok(
        DEFAULT,
        &[
            "-n",
            n,
            "get",
            "secrets",
            "--field-selector",
            "type=kubernetes.io/dockerconfigjson",
            "-o",
            "name",
        ],
    );
    assert_eq!(out.trim(), "secret/dock");

    let err = k.fails(DEFAULT, &["-n", n, "get", "cm", "--field-selector", "data.a=1"]);
    // ConfigMaps have no field label conversion of their own, so kube-apiserver
    // answers with the generic metadata-only wording (pods say "field label not
    // supported", see errors/400-bad-field-selector.json).
    assert!(
        err.contains(
            r#""data.a" is not a known field selector: only "metadata.name", "metadata.namespace""#
        ),
        "{err}"
    );
    // An empty result is not an error.
    let out = k.kubectl(DEFAULT, &["-n", n, "get", "cm", "-l", "nothing=here"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No resources found"), "{out:?}");
}

#[test]
fn delete_by_label() {
    let k = shared();
    let ns = k.namespace("delete-label");
    let n = ns.name.as_str();
    seed_cm(k, n, "gone-1", &[], &[("group", "old")]);
    seed_cm(k, n, "gone-2", &[], &[("group", "old")]);
    seed_cm(k, n, "kept", &[], &[("group", "new")]);
    let out = k.ok(DEFAULT, &["-n", n, "delete", "cm", "-l", "group=old"]);
    assert!(
        out.contains("configmap \"gone-1\" deleted")
            && out.contains("configmap \"gone-2\" deleted"),
        "{out}"
    );
    let left = k.ok(DEFAULT, &["-n", n, "get", "cm", "-l", "group", "-o", "name"]);
    assert_eq!(left.trim(), "configmap/kept");
}

#[test]
fn wait_for_delete() {
    let k = shared();
    let ns = k.namespace("wait-delete");
    let n = ns.name.as_str();
    seed_cm(k, n, "w", &[("a", "1")], &[]);
    let mut waiter =
        k.kubectl_spawn(DEFAULT, &["-n", n, "wait", "--for=delete", "cm/w", "--timeout=30s"]);
    std::thread::sleep(Duration::from_millis(700));
    let r = k.curl(Req {
        method: "DELETE",
        ..Req::get(&format!("/api/v1/namespaces/{n}/configmaps/w"))
    });
    assert_eq!(r.status, 200, "{}", r.body);
    waiter.expect_line("saying condition met", Duration::from_secs(20), |l| {
        l.contains("condition met")
    });
    // Waiting on something already gone returns at once.
    let out = k.kubectl(DEFAULT, &["-n", n, "wait", "--for=delete", "cm/w", "--timeout=5s"]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn watch_sees_added_modified_deleted_live() {
    let k = shared();
    let ns = k.namespace("watch");
    let n = ns.name.as_str();
    seed_cm(k, n, "before", &[("a", "1")], &[]);
    let mut w = k.kubectl_spawn(DEFAULT, &["-n", n, "get", "cm", "-w", "--output-watch-events"]);
    let row = |ev: &'static str, name: &'static str| {
        move |l: &str| l.split_whitespace().take(2).eq([ev, name])
    };
    // The initial list shows what exists.
    w.expect_line("ADDED before", Duration::from_secs(10), row("ADDED", "before"));

    seed_cm(k, n, "live", &[("a", "1")], &[]);
    w.expect_line("ADDED live", Duration::from_secs(10), row("ADDED", "live"));
    k.ok(DEFAULT, &["-n", n, "label", "cm", "live", "x=y"]);
    w.expect_line("MODIFIED live", Duration::from_secs(10), row("MODIFIED", "live"));
    k.ok(DEFAULT, &["-n", n, "delete", "cm", "live"]);
    w.expect_line("DELETED live", Duration::from_secs(10), row("DELETED", "live"));
    w.stop();
}

// ---------------------------------------------------------------- create secret / configmap

fn create_secrets(version: &str) {
    let k = shared();
    let ns = k.namespace(&format!("create-secret-{}", version.replace('.', "")));
    let n = ns.name.as_str();
    let dir = k.root.join(format!("secret-files-{version}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ssh-key");
    std::fs::write(&file, "binary\u{0}data\n").unwrap();

    let out = k.ok(
        version,
        &[
            "-n",
            n,
            "create",
            "secret",
            "generic",
            "gen",
            "--from-literal=user=admin",
            &format!("--from-file={}", file.display()),
        ],
    );
    assert!(out.contains("secret/gen created"), "{out}");
    let s = json_of(&k.ok(version, &["-n", n, "get", "secret", "gen", "-o", "json"]));
    assert_eq!(s["type"], "Opaque", "{s}");
    assert_eq!(s["data"]["user"], "YWRtaW4=", "{s}");
    assert_eq!(s["data"]["ssh-key"], "YmluYXJ5AGRhdGEK", "{s}");

    let out = k.ok(
        version,
        &[
            "-n",
            n,
            "create",
            "secret",
            "docker-registry",
            "reg",
            "--docker-server=registry.local:5000",
            "--docker-username=u",
            "--docker-password=p",
            "--docker-email=u@example.com",
        ],
    );
    assert!(out.contains("secret/reg created"), "{out}");
    let s = json_of(&k.ok(version, &["-n", n, "get", "secret", "reg", "-o", "json"]));
    assert_eq!(s["type"], "kubernetes.io/dockerconfigjson", "{s}");
    let cfg = s["data"][".dockerconfigjson"].as_str().unwrap_or_default();
    let decoded = b64_decode(cfg);
    assert!(
        decoded.contains("registry.local:5000") && decoded.contains("\"username\":\"u\""),
        "{decoded}"
    );

    let (crt, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    let st = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=k2d-test",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .expect("running openssl");
    assert!(st.status.success(), "openssl: {}", String::from_utf8_lossy(&st.stderr));
    let out = k.ok(
        version,
        &[
            "-n",
            n,
            "create",
            "secret",
            "tls",
            "tls",
            &format!("--cert={}", crt.display()),
            &format!("--key={}", key.display()),
        ],
    );
    assert!(out.contains("secret/tls created"), "{out}");
    let s = json_of(&k.ok(version, &["-n", n, "get", "secret", "tls", "-o", "json"]));
    assert_eq!(s["type"], "kubernetes.io/tls", "{s}");
    assert!(s["data"]["tls.crt"].as_str().is_some_and(|v| !v.is_empty()), "{s}");
    assert!(s["data"]["tls.key"].as_str().is_some_and(|v| !v.is_empty()), "{s}");

    let table = k.ok(version, &["-n", n, "get", "secrets"]);
    for (name, ty) in
        [("gen", "Opaque"), ("reg", "kubernetes.io/dockerconfigjson"), ("tls", "kubernetes.io/tls")]
    {
        assert!(
            table.lines().any(|l| l.split_whitespace().take(2).eq([name, ty])),
            "{name} {ty} in:\n{table}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn b64_decode(s: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap_or_else(|e| panic!("not base64 ({e}): {s}"));
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn create_secret_generic_docker_registry_tls_kubectl_127() {
    create_secrets(common::V127);
}

#[test]
fn create_secret_generic_docker_registry_tls_kubectl_133() {
    create_secrets(common::V133);
}

fn create_configmap_from_file(version: &str) {
    let k = shared();
    let ns = k.namespace(&format!("cm-from-file-{}", version.replace('.', "")));
    let n = ns.name.as_str();
    let dir = k.root.join(format!("cm-files-{version}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.properties"), "color=blue\nsize=L\n").unwrap();
    std::fs::write(dir.join("motd.txt"), "hello\n").unwrap();
    let single = k.root.join(format!("single-{version}.conf"));
    std::fs::write(&single, "x=1\n").unwrap();

    let out = k.ok(
        version,
        &[
            "-n",
            n,
            "create",
            "configmap",
            "from-files",
            &format!("--from-file={}", dir.display()),
            &format!("--from-file=renamed.conf={}", single.display()),
        ],
    );
    assert!(out.contains("configmap/from-files created"), "{out}");
    let obj = json_of(&k.ok(version, &["-n", n, "get", "cm", "from-files", "-o", "json"]));
    assert_eq!(
        obj["data"],
        serde_json::json!({"app.properties": "color=blue\nsize=L\n", "motd.txt": "hello\n", "renamed.conf": "x=1\n"}),
        "{obj}"
    );
    let out = k.ok(
        version,
        &["-n", n, "create", "configmap", "lit", "--from-literal=a=1", "--from-literal=b=two"],
    );
    assert!(out.contains("configmap/lit created"), "{out}");
    assert_eq!(jsonpath(k, n, "cm/lit", "{.data.b}"), "two");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&single);
}

#[test]
fn create_configmap_from_file_kubectl_127() {
    create_configmap_from_file(common::V127);
}

#[test]
fn create_configmap_from_file_kubectl_133() {
    create_configmap_from_file(common::V133);
}

// ---------------------------------------------------------------- file store

#[test]
fn secret_files_and_token_are_not_world_readable() {
    use std::os::unix::fs::PermissionsExt;
    let k = shared();
    let ns = k.namespace("secret-files");
    let n = ns.name.as_str();
    common::post(
        k,
        &format!("/api/v1/namespaces/{n}/secrets"),
        &serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"password": "hunter2"}}),
    );
    let file = k.data.join(format!("files/secrets/{n}/db/..data/password"));
    common::eventually(
        &format!("{} to be written", file.display()),
        Duration::from_secs(10),
        || file.exists().then_some(()),
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hunter2");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{} has mode {mode:o}", file.display());
    // The directories above must not let others in either.
    let dir = k.data.join(format!("files/secrets/{n}/db"));
    let dmode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(dmode & 0o077, 0, "{} has mode {dmode:o}", dir.display());
    // The visible key file resolves to the same content.
    let visible = k.data.join(format!("files/secrets/{n}/db/password"));
    assert_eq!(std::fs::read_to_string(&visible).unwrap(), "hunter2");

    let tmode = std::fs::metadata(k.data.join("token")).unwrap().permissions().mode() & 0o777;
    assert_eq!(tmode, 0o600, "<data>/token has mode {tmode:o}");

    // Updates replace the content; deleting the Secret removes its files.
    k.ok(
        DEFAULT,
        &[
            "-n",
            n,
            "patch",
            "secret",
            "db",
            "--type",
            "merge",
            "-p",
            r#"{"stringData":{"password":"changed"}}"#,
        ],
    );
    common::eventually("the secret file to change", Duration::from_secs(10), || {
        (std::fs::read_to_string(&file).ok()? == "changed").then_some(())
    });
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "after update {} has mode {mode:o}", file.display());
    k.ok(DEFAULT, &["-n", n, "delete", "secret", "db"]);
    common::eventually("the secret files to disappear", Duration::from_secs(10), || {
        (!dir.exists()).then_some(())
    });
}

// ---------------------------------------------------------------- per kubectl version

/// The core flow every supported kubectl must get through unchanged.
fn core_flow(version: &str) {
    let k = shared();
    let n = format!("core-{}", version.replace('.', ""));
    let n = n.as_str();

    let out = k.ok(version, &["version"]);
    assert!(out.contains("v1.33"), "server version missing: {out}");
    let out = k.ok(version, &["api-resources"]);
    assert!(out.contains("configmaps") && out.contains("namespaces"), "{out}");

    let out = k.ok(version, &["create", "namespace", n]);
    assert!(out.contains(&format!("namespace/{n} created")), "{out}");
    let out = k.ok(version, &["get", "ns", n]);
    assert!(out.contains("Active"), "{out}");

    let out = k.ok_stdin(
        version,
        &["-n", n, "apply", "-f", "-"],
        &cm_yaml("core", &[("a", "1"), ("b", "2")]),
    );
    assert!(out.contains("configmap/core created"), "{out}");
    let out = k.ok_stdin(
        version,
        &["-n", n, "apply", "-f", "-"],
        &cm_yaml("core", &[("a", "2"), ("b", "2")]),
    );
    assert!(out.contains("configmap/core configured"), "{out}");
    assert_eq!(k.ok(version, &["-n", n, "get", "cm", "core", "-o", "jsonpath={.data.a}"]), "2");

    let diff = k.kubectl_stdin(
        version,
        &["-n", n, "diff", "-f", "-"],
        &cm_yaml("core", &[("a", "3"), ("b", "2")]),
    );
    assert_eq!(diff.status.code(), Some(1), "diff: {diff:?}");
    assert!(String::from_utf8_lossy(&diff.stdout).contains("+  a: \"3\""), "{diff:?}");

    let table = k.ok(version, &["-n", n, "get", "cm"]);
    assert!(table.lines().any(|l| l.split_whitespace().take(2).eq(["core", "2"])), "{table}");
    let obj = json_of(&k.ok(version, &["-n", n, "get", "cm", "core", "-o", "json"]));
    assert_eq!(obj["data"]["b"], "2");
    let yaml = k.ok(version, &["-n", n, "get", "cm", "core", "-o", "yaml"]);
    assert!(yaml.contains("kind: ConfigMap"), "{yaml}");

    k.ok(version, &["-n", n, "patch", "cm", "core", "-p", r#"{"data":{"s":"strategic"}}"#]);
    k.ok(
        version,
        &["-n", n, "patch", "cm", "core", "--type", "merge", "-p", r#"{"data":{"m":"merge"}}"#],
    );
    k.ok(
        version,
        &[
            "-n",
            n,
            "patch",
            "cm",
            "core",
            "--type",
            "json",
            "-p",
            r#"[{"op":"remove","path":"/data/b"}]"#,
        ],
    );
    let obj = json_of(&k.ok(version, &["-n", n, "get", "cm", "core", "-o", "json"]));
    assert_eq!(obj["data"], serde_json::json!({"a": "2", "s": "strategic", "m": "merge"}), "{obj}");

    k.ok(version, &["-n", n, "label", "cm", "core", "flow=core"]);
    k.ok(version, &["-n", n, "annotate", "cm", "core", "note=x"]);
    assert_eq!(
        k.ok(version, &["-n", n, "get", "cm", "-l", "flow=core", "-o", "name"]).trim(),
        "configmap/core"
    );
    assert_eq!(
        k.ok(
            version,
            &["-n", n, "get", "cm", "--field-selector", "metadata.name=core", "-o", "name"]
        )
        .trim(),
        "configmap/core"
    );

    let mut obj = json_of(&k.ok(version, &["-n", n, "get", "cm", "core", "-o", "json"]));
    obj["data"]["a"] = "replaced".into();
    k.ok_stdin(version, &["-n", n, "replace", "-f", "-"], &obj.to_string());
    assert_eq!(
        k.ok(version, &["-n", n, "get", "cm", "core", "-o", "jsonpath={.data.a}"]),
        "replaced"
    );

    let out = k.ok(
        version,
        &["-n", n, "create", "secret", "generic", "core-secret", "--from-literal=k=v"],
    );
    assert!(out.contains("secret/core-secret created"), "{out}");
    assert_eq!(
        k.ok(version, &["-n", n, "get", "secret", "core-secret", "-o", "jsonpath={.data.k}"]),
        "dg=="
    );
    let out = k.ok(version, &["-n", n, "create", "configmap", "core-lit", "--from-literal=x=y"]);
    assert!(out.contains("configmap/core-lit created"), "{out}");

    k.ok(version, &["-n", n, "label", "cm", "core-lit", "flow=core"]);
    let out = k.ok(version, &["-n", n, "delete", "cm", "-l", "flow=core"]);
    assert!(out.contains("\"core\" deleted") && out.contains("\"core-lit\" deleted"), "{out}");
    let out = k.kubectl(version, &["-n", n, "get", "cm", "-l", "flow=core"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("No resources found"), "{out:?}");
    k.ok(version, &["-n", n, "delete", "secret", "core-secret"]);

    let out = k.ok(version, &["delete", "namespace", n]);
    assert!(out.contains(&format!("namespace \"{n}\" deleted")), "{out}");
    let err = k.fails(version, &["get", "ns", n]);
    assert!(err.contains("NotFound") || err.contains("not found"), "{err}");
}

#[test]
fn core_flow_kubectl_120() {
    core_flow(common::V120);
}

#[test]
fn core_flow_kubectl_127() {
    core_flow(common::V127);
}

#[test]
fn core_flow_kubectl_133() {
    core_flow(common::V133);
}
