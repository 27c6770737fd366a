use super::*;
use crate::adapter::files::FileStore;

fn claim(name: &str, class: Option<&str>, size: &str, modes: &[&str]) -> Value {
    let mut c = json!({
        "kind": "PersistentVolumeClaim", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": "demo", "uid": format!("uid-{name}"), "resourceVersion": "7"},
        "spec": {"accessModes": modes, "resources": {"requests": {"storage": size}}, "volumeMode": "Filesystem"},
        "status": {"phase": "Pending"},
    });
    if let Some(class) = class {
        c["spec"]["storageClassName"] = json!(class);
    }
    c
}

fn pv(name: &str, class: &str, size: &str, modes: &[&str]) -> Arc<Value> {
    Arc::new(json!({
        "kind": "PersistentVolume", "apiVersion": "v1",
        "metadata": {"name": name, "uid": format!("uid-{name}"), "labels": {"tier": "fast"}},
        "spec": {"capacity": {"storage": size}, "accessModes": modes, "storageClassName": class,
            "hostPath": {"path": format!("/srv/{name}")}, "persistentVolumeReclaimPolicy": "Retain",
            "volumeMode": "Filesystem"},
        "status": {"phase": "Available"},
    }))
}

#[test]
fn the_smallest_fitting_volume_of_the_class_wins() {
    let vols = vec![
        pv("big", "", "10Gi", &["ReadWriteOnce"]),
        pv("small", "", "1Gi", &["ReadWriteOnce", "ReadWriteMany"]),
        pv("tiny", "", "100Mi", &["ReadWriteOnce"]),
        pv("other-class", "fast", "1Gi", &["ReadWriteOnce"]),
        pv("rox", "", "5Gi", &["ReadOnlyMany"]),
    ];
    let c = claim("c", Some(""), "500Mi", &["ReadWriteOnce"]);
    assert_eq!(find_match(&c, &vols).unwrap()["metadata"]["name"], "small");
    let c = claim("c", Some(""), "2Gi", &["ReadWriteOnce"]);
    assert_eq!(find_match(&c, &vols).unwrap()["metadata"]["name"], "big");
    let c = claim("c", Some(""), "1Gi", &["ReadWriteMany"]);
    assert_eq!(find_match(&c, &vols).unwrap()["metadata"]["name"], "small");
    let c = claim("c", Some("fast"), "1Gi", &["ReadWriteOnce"]);
    assert_eq!(find_match(&c, &vols).unwrap()["metadata"]["name"], "other-class");
    let c = claim("c", Some(""), "20Gi", &["ReadWriteOnce"]);
    assert!(find_match(&c, &vols).is_none());
    // A selector narrows the choice.
    let mut c = claim("c", Some(""), "1Mi", &["ReadWriteOnce"]);
    c["spec"]["selector"] = json!({"matchLabels": {"tier": "slow"}});
    assert!(find_match(&c, &vols).is_none());
    c["spec"]["selector"] =
        json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["fast"]}]});
    assert_eq!(find_match(&c, &vols).unwrap()["metadata"]["name"], "tiny");
}

#[test]
fn bound_released_and_prebound_volumes() {
    let c = claim("c", Some(""), "1Gi", &["ReadWriteOnce"]);
    let mut taken = (*pv("taken", "", "1Gi", &["ReadWriteOnce"])).clone();
    taken["spec"]["claimRef"] = json!({"namespace": "demo", "name": "other", "uid": "x"});
    let mut released = (*pv("released", "", "1Gi", &["ReadWriteOnce"])).clone();
    released["status"]["phase"] = json!("Released");
    assert!(find_match(&c, &[Arc::new(taken), Arc::new(released)]).is_none());
    // A volume reserved for this claim by name is preferred over a smaller free one.
    let mut reserved = (*pv("reserved", "", "5Gi", &["ReadWriteOnce"])).clone();
    reserved["spec"]["claimRef"] = json!({"namespace": "demo", "name": "c"});
    let vols = vec![pv("free", "", "1Gi", &["ReadWriteOnce"]), Arc::new(reserved)];
    assert_eq!(find_match(&c, &vols).unwrap()["metadata"]["name"], "reserved");
}

#[test]
fn provisioned_volumes_and_both_sides_of_a_binding() {
    let c = claim("data", Some("local"), "2Gi", &["ReadWriteOnce"]);
    let class = json!({"metadata": {"name": "local"}, "provisioner": PROVISIONER, "reclaimPolicy": "Retain"});
    let v = provisioned_volume(&c, &class);
    assert_eq!(v["metadata"]["name"], "pvc-uid-data");
    assert_eq!(v["spec"]["capacity"]["storage"], "2Gi");
    assert_eq!(v["spec"]["csi"]["volumeHandle"], "k2d-pvc-uid-data");
    assert_eq!(v["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(v["spec"]["storageClassName"], "local");
    assert_eq!(v["spec"]["claimRef"]["uid"], "uid-data");
    assert_eq!(v["metadata"]["finalizers"], json!([PV_PROTECTION]));

    let b = bound_claim(&c, &v);
    assert_eq!(b["spec"]["volumeName"], "pvc-uid-data");
    assert_eq!(b["status"]["phase"], "Bound");
    assert_eq!(b["status"]["capacity"]["storage"], "2Gi");
    assert_eq!(b["metadata"]["annotations"][ANN_BIND_COMPLETED], "yes");
    assert_eq!(b["metadata"]["annotations"][ANN_BOUND_BY_CONTROLLER], "yes");
    assert_eq!(
        claim_source(Some(&b), Some(&v)),
        Ok(ClaimSource::DockerVolume("k2d-pvc-uid-data".into()))
    );
    assert!(claim_source(Some(&c), Some(&v)).unwrap_err().contains("not bound"));

    // A claim that named its volume is not "bound by controller"; the volume is.
    let mut named = claim("named", Some(""), "1Gi", &["ReadWriteOnce"]);
    named["spec"]["volumeName"] = json!("static");
    let static_pv = pv("static", "", "1Gi", &["ReadWriteOnce"]);
    let b = bound_claim(&named, &static_pv);
    assert!(b["metadata"]["annotations"].get(ANN_BOUND_BY_CONTROLLER).is_none());
    let bv = bound_volume(&static_pv, &named);
    assert_eq!(bv["spec"]["claimRef"]["name"], "named");
    assert_eq!(bv["status"]["phase"], "Bound");
    assert_eq!(bv["metadata"]["annotations"][ANN_BOUND_BY_CONTROLLER], "yes");
    assert_eq!(claim_source(Some(&b), Some(&bv)), Ok(ClaimSource::HostPath("/srv/static".into())));
}

struct Fixture {
    dir: PathBuf,
    store: Arc<Store>,
    queue: Queue,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("k2d-storage-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Arc::new(Store::open(&dir).unwrap());
        let queue = super::super::new(store.clone(), FileStore::new(&dir)).queue();
        Fixture { dir, store, queue }
    }

    fn put(&self, resource: &str, obj: &Value) {
        let ns = s(obj, &["metadata", "namespace"]).to_string();
        let name = s(obj, &["metadata", "name"]).to_string();
        let o = obj.clone();
        self.store.write(resource, &ns, &name, false, |_| Ok(Some(Change::Put(o)))).unwrap();
    }

    fn get(&self, resource: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.store.get(resource, ns, name)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_static_volume_binds_by_name_and_is_released_and_kept_by_retain() {
    let f = Fixture::new("static");
    f.put(VOLUMES, &pv("static", "", "1Gi", &["ReadWriteOnce"]));
    let mut c = claim("c", Some(""), "1Gi", &["ReadWriteOnce"]);
    c["spec"]["volumeName"] = json!("static");
    f.put(CLAIMS, &c);
    reconcile_claim(&f.store, &f.queue, None, "demo", "c").unwrap();
    let c = f.get(CLAIMS, "demo", "c").unwrap();
    assert_eq!(c["status"]["phase"], "Bound");
    let v = f.get(VOLUMES, "", "static").unwrap();
    assert_eq!(v["status"]["phase"], "Bound");
    assert_eq!(v["spec"]["claimRef"]["uid"], "uid-c");
    reconcile_volume(&f.store, &f.queue, None, "static").unwrap();
    assert_eq!(f.get(VOLUMES, "", "static").unwrap()["status"]["phase"], "Bound");

    // The claim goes: Retain keeps the volume, Released.
    f.store.write(CLAIMS, "demo", "c", false, |_| Ok(Some(Change::Delete))).unwrap();
    reconcile_volume(&f.store, &f.queue, None, "static").unwrap();
    let v = f.get(VOLUMES, "", "static").unwrap();
    assert_eq!(v["status"]["phase"], "Released");
    // A new claim of the same name does not get a released volume.
    let mut again = claim("c", Some(""), "1Gi", &["ReadWriteOnce"]);
    again["metadata"]["uid"] = json!("uid-c2");
    f.put(CLAIMS, &again);
    reconcile_claim(&f.store, &f.queue, None, "demo", "c").unwrap();
    assert_eq!(f.get(CLAIMS, "demo", "c").unwrap()["status"]["phase"], "Pending");
}

#[test]
fn protected_claims_wait_for_their_pods() {
    let f = Fixture::new("protect");
    let mut c = claim("c", Some(""), "1Gi", &["ReadWriteOnce"]);
    c["metadata"]["finalizers"] = json!([PVC_PROTECTION]);
    c["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    f.put(CLAIMS, &c);
    let pod = json!({"metadata": {"name": "p", "namespace": "demo", "uid": "pu"},
        "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "c"}}]},
        "status": {"phase": "Running"}});
    f.put("pods", &pod);
    reconcile_claim(&f.store, &f.queue, None, "demo", "c").unwrap();
    assert!(f.get(CLAIMS, "demo", "c").is_some(), "in use");
    f.store.write("pods", "demo", "p", false, |_| Ok(Some(Change::Delete))).unwrap();
    reconcile_claim(&f.store, &f.queue, None, "demo", "c").unwrap();
    assert!(f.get(CLAIMS, "demo", "c").is_none(), "finalizer removed, claim gone");
}

#[test]
fn pods_wait_for_their_claims() {
    let f = Fixture::new("pods");
    f.put(
        CLASSES,
        &json!({"metadata": {"name": "wffc"}, "provisioner": PROVISIONER,
        "volumeBindingMode": "WaitForFirstConsumer"}),
    );
    f.put(CLAIMS, &claim("later", Some("wffc"), "1Gi", &["ReadWriteOnce"]));
    let pod = json!({"kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": "p", "namespace": "demo", "uid": "pu"},
        "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "later"}}]},
        "status": {"phase": "Pending"}});
    f.put("pods", &pod);
    assert!(!pod_claims_ready(&f.store, &f.queue, &pod, "edge").unwrap());
    let c = f.get(CLAIMS, "demo", "later").unwrap();
    assert_eq!(c["metadata"]["annotations"][ANN_SELECTED_NODE], "edge");
    // A missing claim makes the pod Unschedulable, as the scheduler says it.
    let mut missing = pod.clone();
    missing["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] = json!("nope");
    f.put("pods", &missing);
    assert!(!pod_claims_ready(&f.store, &f.queue, &missing, "edge").unwrap());
    let p = f.get("pods", "demo", "p").unwrap();
    let cond = &p["status"]["conditions"][0];
    assert_eq!(cond["reason"], "Unschedulable");
    assert!(cond["message"].as_str().unwrap().contains("persistentvolumeclaim \"nope\" not found"));
    // Bound: ready, and the Unschedulable condition goes.
    let mut bound = claim("nope", Some(""), "1Gi", &["ReadWriteOnce"]);
    bound["spec"]["volumeName"] = json!("v");
    bound["status"]["phase"] = json!("Bound");
    f.put(CLAIMS, &bound);
    assert!(pod_claims_ready(&f.store, &f.queue, &p, "edge").unwrap());
    let p = f.get("pods", "demo", "p").unwrap();
    assert_eq!(p["status"]["conditions"], json!([]));
}

#[test]
fn bound_claims_grow_when_their_class_allows() {
    let f = Fixture::new("grow");
    f.put(
        CLASSES,
        &json!({"metadata": {"name": "elastic"}, "provisioner": PROVISIONER,
        "allowVolumeExpansion": true}),
    );
    let c = claim("c", Some("elastic"), "1Gi", &["ReadWriteOnce"]);
    let class = f.get(CLASSES, "", "elastic").unwrap();
    let v = provisioned_volume(&c, &class);
    f.put(VOLUMES, &v);
    let mut bound = bound_claim(&c, &v);
    bound["spec"]["resources"]["requests"]["storage"] = json!("3Gi");
    f.put(CLAIMS, &bound);
    reconcile_claim(&f.store, &f.queue, None, "demo", "c").unwrap();
    let got = f.get(CLAIMS, "demo", "c").unwrap();
    assert_eq!(got["status"]["capacity"]["storage"], "3Gi");
    assert_eq!(f.get(VOLUMES, "", "pvc-uid-c").unwrap()["spec"]["capacity"]["storage"], "3Gi");
    // Without allowVolumeExpansion nothing changes.
    f.put(CLASSES, &json!({"metadata": {"name": "elastic"}, "provisioner": PROVISIONER}));
    let mut more = (*got).clone();
    more["spec"]["resources"]["requests"]["storage"] = json!("5Gi");
    f.put(CLAIMS, &more);
    reconcile_claim(&f.store, &f.queue, None, "demo", "c").unwrap();
    assert_eq!(f.get(CLAIMS, "demo", "c").unwrap()["status"]["capacity"]["storage"], "3Gi");
}

#[test]
fn a_named_volume_must_satisfy_the_claim() {
    let v = pv("v", "", "1Gi", &["ReadWriteOnce"]);
    assert_eq!(unsatisfied(&v, &claim("c", Some(""), "1Gi", &["ReadWriteOnce"])), None);
    assert_eq!(
        unsatisfied(&v, &claim("c", Some(""), "2Gi", &["ReadWriteOnce"])),
        Some("requested PV is too small")
    );
    assert_eq!(
        unsatisfied(&v, &claim("c", Some("fast"), "1Gi", &["ReadWriteOnce"])),
        Some("storageClassName does not match")
    );
    assert_eq!(
        unsatisfied(&v, &claim("c", Some(""), "1Gi", &["ReadWriteMany"])),
        Some("incompatible accessMode")
    );
}

#[test]
fn a_volume_deleted_while_bound_goes_once_its_claim_goes() {
    let f = Fixture::new("del-bound");
    let mut v = (*pv("static", "", "1Gi", &["ReadWriteOnce"])).clone();
    v["metadata"]["finalizers"] = json!([PV_PROTECTION]);
    f.put(VOLUMES, &v);
    let mut c = claim("c", Some(""), "1Gi", &["ReadWriteOnce"]);
    c["spec"]["volumeName"] = json!("static");
    f.put(CLAIMS, &c);
    reconcile_claim(&f.store, &f.queue, None, "demo", "c").unwrap();
    assert_eq!(f.get(VOLUMES, "", "static").unwrap()["status"]["phase"], "Bound");
    // `kubectl delete pv` first: Terminating while the claim is bound to it.
    let mut deleting = (*f.get(VOLUMES, "", "static").unwrap()).clone();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    f.put(VOLUMES, &deleting);
    reconcile_volume(&f.store, &f.queue, None, "static").unwrap();
    assert!(f.get(VOLUMES, "", "static").is_some(), "in use by its claim");
    // The claim goes: the stored phase still says Bound, the claim decides.
    f.store.write(CLAIMS, "demo", "c", false, |_| Ok(Some(Change::Delete))).unwrap();
    reconcile_volume(&f.store, &f.queue, None, "static").unwrap();
    assert!(f.get(VOLUMES, "", "static").is_none(), "released, finalizer dropped");
}

#[test]
fn claim_state_comes_from_the_claim_itself() {
    let mut v = (*pv("v", "", "1Gi", &["ReadWriteOnce"])).clone();
    assert_eq!(claim_state(&v, None), ClaimState::Unclaimed);
    v["spec"]["claimRef"] = json!({"namespace": "demo", "name": "c"});
    assert_eq!(claim_state(&v, None), ClaimState::Reserved);
    let mut c = claim("c", Some(""), "1Gi", &["ReadWriteOnce"]);
    assert_eq!(claim_state(&v, Some(&c)), ClaimState::Waiting);
    v["spec"]["claimRef"]["uid"] = json!("uid-c");
    c["spec"]["volumeName"] = json!("v");
    v["status"]["phase"] = json!("Released");
    assert_eq!(claim_state(&v, Some(&c)), ClaimState::Bound, "whatever the stored phase");
    c["spec"]["volumeName"] = json!("other");
    assert_eq!(claim_state(&v, Some(&c)), ClaimState::Elsewhere);
    // A new claim of the same name is not the one the volume was bound to.
    c["metadata"]["uid"] = json!("uid-c2");
    c["spec"]["volumeName"] = json!("v");
    v["status"]["phase"] = json!("Bound");
    assert_eq!(claim_state(&v, Some(&c)), ClaimState::Gone);
    assert_eq!(claim_state(&v, None), ClaimState::Gone);
}

#[test]
fn only_volumes_this_instance_made_for_the_pv_are_removed() {
    let labels = volume_labels("inst-1", "pvc-u", "demo", "data");
    assert_eq!(labels[PV_LABEL], "pvc-u");
    assert_eq!(labels[crate::adapter::convert::pod::volumes::PVC_LABEL], "data");
    let inspect = json!({"Name": "k2d-pvc-u", "Labels": labels});
    assert!(created_for(&inspect, "inst-1", "pvc-u"));
    assert!(!created_for(&inspect, "inst-2", "pvc-u"), "another k2d's");
    assert!(!created_for(&inspect, "inst-1", "my-pv"), "made for another PV");
    assert!(!created_for(&json!({"Name": "precious", "Labels": null}), "inst-1", "my-pv"));
    let mut unmanaged = inspect.clone();
    unmanaged["Labels"].as_object_mut().unwrap().remove(labels::MANAGED);
    assert!(!created_for(&unmanaged, "inst-1", "pvc-u"));
}

fn wffc_fixture(tag: &str) -> Fixture {
    let f = Fixture::new(tag);
    f.put(
        CLASSES,
        &json!({"metadata": {"name": "wffc"}, "provisioner": PROVISIONER,
        "volumeBindingMode": "WaitForFirstConsumer"}),
    );
    f.put(VOLUMES, &pv("free", "wffc", "1Gi", &["ReadWriteOnce"]));
    f
}

#[test]
fn wait_for_first_consumer_claims_take_no_free_volume_before_a_node_is_chosen() {
    let f = wffc_fixture("wffc-free");
    f.put(CLAIMS, &claim("c", Some("wffc"), "1Gi", &["ReadWriteOnce"]));
    reconcile_claim(&f.store, &f.queue, None, "demo", "c").unwrap();
    assert_eq!(f.get(CLAIMS, "demo", "c").unwrap()["status"]["phase"], "Pending");
    assert!(f.get(VOLUMES, "", "free").unwrap()["spec"].get("claimRef").is_none());
    // The scheduler chose a node: the free volume serves it.
    let mut c = (*f.get(CLAIMS, "demo", "c").unwrap()).clone();
    annotate(&mut c, ANN_SELECTED_NODE, "edge");
    f.put(CLAIMS, &c);
    reconcile_claim(&f.store, &f.queue, None, "demo", "c").unwrap();
    let c = f.get(CLAIMS, "demo", "c").unwrap();
    assert_eq!(
        (&c["status"]["phase"], &c["spec"]["volumeName"]),
        (&json!("Bound"), &json!("free"))
    );
}

#[test]
fn wait_for_first_consumer_claims_take_a_volume_pre_bound_to_them() {
    let f = wffc_fixture("wffc-pre");
    let mut reserved = (*pv("reserved", "wffc", "1Gi", &["ReadWriteOnce"])).clone();
    reserved["spec"]["claimRef"] = json!({"namespace": "demo", "name": "c"});
    f.put(VOLUMES, &reserved);
    f.put(CLAIMS, &claim("c", Some("wffc"), "1Gi", &["ReadWriteOnce"]));
    reconcile_claim(&f.store, &f.queue, None, "demo", "c").unwrap();
    assert_eq!(f.get(CLAIMS, "demo", "c").unwrap()["spec"]["volumeName"], "reserved");
    assert!(f.get(VOLUMES, "", "free").unwrap()["spec"].get("claimRef").is_none());
}

#[test]
fn the_retroactive_default_class_skips_claims_that_name_their_volume() {
    let f = Fixture::new("retro");
    f.put(
        CLASSES,
        &json!({"metadata": {"name": "std", "annotations":
            {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": PROVISIONER}),
    );
    let mut named = claim("named", None, "1Gi", &["ReadWriteOnce"]);
    named["spec"]["volumeName"] = json!("elsewhere");
    f.put(CLAIMS, &named);
    reconcile_claim(&f.store, &f.queue, None, "demo", "named").unwrap();
    assert!(f.get(CLAIMS, "demo", "named").unwrap()["spec"].get("storageClassName").is_none());
    // An unbound claim without a class gets the default.
    f.put(CLAIMS, &claim("free", None, "1Gi", &["ReadWriteOnce"]));
    reconcile_claim(&f.store, &f.queue, None, "demo", "free").unwrap();
    assert_eq!(f.get(CLAIMS, "demo", "free").unwrap()["spec"]["storageClassName"], "std");
}
