//! Pod: defaults and validation as kube-apiserver applies them, the QoS class,
//! graceful deletion, and kubectl's Table. Running pods as Docker containers is
//! the controller's (see `adapter::convert::pod` for the translation).

/// `defaults::default_pod_spec` also serves pod templates (workloads).
pub mod defaults;
/// Also validates pod templates (workloads).
pub mod validation;

use super::configmap::name_cell;
use super::{ALL_VERBS, Behavior, Column, ResourceType, str_at, typed};
use crate::adapter::convert::pod::quantity::Quantity;
use crate::api::error::Cause;
use crate::api::table;
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

pub static PODS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    kind: "Pod",
    plural: "pods",
    singular: "pod",
    namespaced: true,
    short_names: &["po"],
    categories: &["all"],
    verbs: ALL_VERBS,
    subresources: &["status", "log"],
    storage: "pods",
    behavior: &PodBehavior,
};

struct PodBehavior;

const COLUMNS: &[Column] = &[
    Column {
        name: "Name",
        type_: "string",
        format: "name",
        description: table::NAME_DESCRIPTION,
        priority: 0,
    },
    Column {
        name: "Ready",
        type_: "string",
        format: "",
        description: "The aggregate readiness state of this pod for accepting traffic.",
        priority: 0,
    },
    Column {
        name: "Status",
        type_: "string",
        format: "",
        description: "The aggregate status of the containers in this pod.",
        priority: 0,
    },
    Column {
        name: "Restarts",
        type_: "string",
        format: "",
        description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        priority: 0,
    },
    Column {
        name: "Age",
        type_: "string",
        format: "",
        description: table::CREATION_DESCRIPTION,
        priority: 0,
    },
    Column {
        name: "IP",
        type_: "string",
        format: "",
        description: "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
        priority: 1,
    },
    Column {
        name: "Node",
        type_: "string",
        format: "",
        description: "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
        priority: 1,
    },
    Column {
        name: "Nominated Node",
        type_: "string",
        format: "",
        description: "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
        priority: 1,
    },
    Column {
        name: "Readiness Gates",
        type_: "string",
        format: "",
        description: "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
        priority: 1,
    },
];

impl Behavior for PodBehavior {
    fn decode(&self, obj: &Value) -> Result<typed::Decoded, String> {
        typed::decode::<Pod>(obj)
    }

    fn schema(&self, g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<Pod>())
    }

    fn has_status_subresource(&self) -> bool {
        true
    }

    fn returns_deleted_object(&self) -> bool {
        true
    }

    fn default(&self, obj: &mut Value) {
        defaults::default_pod(obj);
    }

    fn on_create(&self, obj: &mut Value) {
        defaults::reset_status(obj);
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let mut causes = validation::validate_spec(&obj["spec"]);
        if let Some(old) = old {
            causes.extend(validation::validate_update(obj, old));
        }
        causes
    }

    /// `podStrategy.CheckGracefulDelete`: the requested period, else the pod's
    /// `terminationGracePeriodSeconds`; 0 for pods never bound to the node or
    /// already finished; negative periods become 1.
    fn grace_period(&self, obj: &Value, requested: Option<i64>) -> Option<i64> {
        let mut period = requested.unwrap_or_else(|| {
            obj.pointer("/spec/terminationGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(0)
        });
        if str_at(obj, &["spec", "nodeName"]).unwrap_or("").is_empty() {
            period = 0;
        }
        if matches!(str_at(obj, &["status", "phase"]), Some("Succeeded" | "Failed")) {
            period = 0;
        }
        Some(if period < 0 { 1 } else { period })
    }

    fn read_only(&self, namespace: &str) -> Option<&'static str> {
        (namespace == crate::adapter::convert::foreign::NAMESPACE).then_some(
            "pods in this namespace mirror containers k2d did not create; they can be deleted but not changed",
        )
    }

    fn field_labels(&self) -> Option<&'static [&'static str]> {
        Some(&[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ])
    }

    fn field(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "spec.hostNetwork" => Some(
                obj.pointer("/spec/hostNetwork")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    .to_string(),
            ),
            "spec.nodeName"
            | "spec.restartPolicy"
            | "spec.schedulerName"
            | "spec.serviceAccountName"
            | "status.phase"
            | "status.podIP"
            | "status.nominatedNodeName" => {
                let path: Vec<&str> = field.split('.').collect();
                Some(str_at(obj, &path).unwrap_or("").to_string())
            }
            _ => None,
        }
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn row(&self, obj: &Value, now: std::time::SystemTime) -> Vec<Value> {
        let (ready, total, status, restarts) = summary(obj, now);
        let or_none =
            |s: Option<&str>| Value::from(s.filter(|s| !s.is_empty()).unwrap_or("<none>"));
        let gates = obj.pointer("/spec/readinessGates").and_then(Value::as_array);
        let gates = match gates {
            Some(g) if !g.is_empty() => {
                let conds = obj.pointer("/status/conditions").and_then(Value::as_array);
                let ok = g
                    .iter()
                    .filter(|gate| {
                        conds.is_some_and(|c| {
                            c.iter().any(|c| {
                                c["type"] == gate["conditionType"] && c["status"] == "True"
                            })
                        })
                    })
                    .count();
                Value::from(format!("{ok}/{}", g.len()))
            }
            _ => Value::from("<none>"),
        };
        vec![
            name_cell(obj),
            Value::from(format!("{ready}/{total}")),
            Value::from(status),
            Value::from(restarts),
            Value::from(table::age_of(obj, now)),
            or_none(str_at(obj, &["status", "podIP"])),
            or_none(str_at(obj, &["spec", "nodeName"])),
            or_none(str_at(obj, &["status", "nominatedNodeName"])),
            gates,
        ]
    }
}

/// The pod's QoS class as Kubernetes computes it (`GetPodQOS`): BestEffort
/// without any cpu/memory request or limit; Guaranteed when every container
/// (init included) limits both cpu and memory and the summed requests equal the
/// summed limits; Burstable otherwise.
pub fn qos_class(pod: &Value) -> &'static str {
    let mut requests: Vec<(String, Quantity)> = Vec::new();
    let mut limits: Vec<(String, Quantity)> = Vec::new();
    let add = |list: &mut Vec<(String, Quantity)>, k: &str, q: Quantity| match list
        .iter_mut()
        .find(|(n, _)| n == k)
    {
        Some(e) => e.1 = e.1.saturating_add(q),
        None => list.push((k.to_string(), q)),
    };
    let mut guaranteed = true;
    let containers = ["containers", "initContainers"].into_iter().flat_map(|l| {
        pod.pointer(&format!("/spec/{l}")).and_then(Value::as_array).into_iter().flatten()
    });
    for c in containers {
        let section = |s: &str| {
            c.pointer(&format!("/resources/{s}"))
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(k, _)| *k == "cpu" || *k == "memory")
                .filter_map(|(k, v)| Some((k.clone(), v.as_str().and_then(Quantity::parse)?)))
                .filter(|(_, q)| q.is_positive())
                .collect::<Vec<_>>()
        };
        for (k, q) in section("requests") {
            add(&mut requests, &k, q);
        }
        let lim = section("limits");
        let has = |n: &str| lim.iter().any(|(k, _)| k == n);
        if !(has("cpu") && has("memory")) {
            guaranteed = false;
        }
        for (k, q) in lim {
            add(&mut limits, &k, q);
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed
        && requests.len() == limits.len()
        && requests.iter().all(|(k, q)| limits.iter().any(|(lk, lq)| lk == k && lq == q))
    {
        return "Guaranteed";
    }
    "Burstable"
}

/// The server's pod status summary (`printPod`): ready and total containers (sidecars —
/// `restartPolicy: Always` init containers — count as containers), the STATUS word
/// (`Running`, `CrashLoopBackOff`, `Init:0/1`, `Terminating`...), and restarts (with the age
/// of the last restart). Once the pod is initialized, finished init containers' restarts no
/// longer count; sidecars' do.
fn summary(obj: &Value, now: std::time::SystemTime) -> (usize, usize, String, String) {
    let empty = Vec::new();
    let list = |ptr: &str| obj.pointer(ptr).and_then(Value::as_array).unwrap_or(&empty);
    let init_specs = list("/spec/initContainers");
    let is_sidecar = |name: &Value| {
        init_specs.iter().any(|c| c["name"] == *name && c["restartPolicy"] == "Always")
    };
    let mut total = list("/spec/containers").len();
    total += init_specs.iter().filter(|c| c["restartPolicy"] == "Always").count();
    let mut reason = str_at(obj, &["status", "reason"])
        .or_else(|| str_at(obj, &["status", "phase"]))
        .unwrap_or("Pending")
        .to_string();
    let conditions = list("/status/conditions");
    let condition = |t: &str| conditions.iter().find(|c| c["type"] == t);
    if condition("PodScheduled").is_some_and(|c| c["reason"] == "SchedulingGated") {
        reason = "SchedulingGated".into();
    }
    /// Restarts and the latest restart's time.
    #[derive(Default)]
    struct Restarts(i64, Option<String>);
    impl Restarts {
        fn note(&mut self, cs: &Value) {
            self.0 += cs["restartCount"].as_i64().unwrap_or(0);
            if let Some(t) = cs.pointer("/lastState/terminated/finishedAt").and_then(Value::as_str)
                && self.1.as_deref().is_none_or(|l| t > l)
            {
                self.1 = Some(t.to_string());
            }
        }
    }
    let (mut restarts, mut sidecar_restarts) = (Restarts::default(), Restarts::default());
    let mut ready = 0;
    let mut initializing = false;
    for (i, cs) in list("/status/initContainerStatuses").iter().enumerate() {
        restarts.note(cs);
        let sidecar = is_sidecar(&cs["name"]);
        if sidecar {
            sidecar_restarts.note(cs);
        }
        if cs.pointer("/state/terminated/exitCode").and_then(Value::as_i64) == Some(0) {
            continue;
        }
        if sidecar && cs["started"] == true {
            if cs["ready"] == true {
                ready += 1;
            }
            continue;
        }
        initializing = true;
        reason = if let Some(t) = cs.pointer("/state/terminated") {
            match t["reason"].as_str() {
                Some(r) if !r.is_empty() => format!("Init:{r}"),
                _ => match t["signal"].as_i64() {
                    Some(s) if s != 0 => format!("Init:Signal:{s}"),
                    _ => format!("Init:ExitCode:{}", t["exitCode"].as_i64().unwrap_or(0)),
                },
            }
        } else {
            match cs.pointer("/state/waiting/reason").and_then(Value::as_str) {
                Some(r) if !r.is_empty() && r != "PodInitializing" => format!("Init:{r}"),
                _ => format!("Init:{i}/{}", init_specs.len()),
            }
        };
        break;
    }
    if !initializing || condition("Initialized").is_some_and(|c| c["status"] == "True") {
        restarts = sidecar_restarts;
        let mut has_running = false;
        for cs in list("/status/containerStatuses").iter().rev() {
            restarts.note(cs);
            if let Some(r) = cs
                .pointer("/state/waiting/reason")
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
            {
                reason = r.to_string();
            } else if let Some(t) = cs.pointer("/state/terminated") {
                reason = match t["reason"].as_str() {
                    Some(r) if !r.is_empty() => r.to_string(),
                    _ => match t["signal"].as_i64() {
                        Some(s) if s != 0 => format!("Signal:{s}"),
                        _ => format!("ExitCode:{}", t["exitCode"].as_i64().unwrap_or(0)),
                    },
                };
            } else if cs["ready"] == true && cs.pointer("/state/running").is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = condition("Ready").is_some_and(|c| c["status"] == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }
    if obj.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null()) {
        let phase = str_at(obj, &["status", "phase"]).unwrap_or("");
        if str_at(obj, &["status", "reason"]) == Some("NodeLost") {
            reason = "Unknown".into();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".into();
        }
    }
    let restarts = match restarts {
        Restarts(n, Some(t)) if n != 0 => format!("{n} ({} ago)", table::human_age(&t, now)),
        Restarts(n, _) => n.to_string(),
    };
    (ready, total, reason, restarts)
}

#[cfg(test)]
mod tests;
