//! A two-tier application in the shape of the Kubernetes docs' tutorial
//! "Deploying WordPress and MySQL with Persistent Volumes", applied with
//! `kubectl apply -k` as the tutorial does. The images are local stand-ins
//! (busybox `httpd` with CGI scripts), so no registry is needed:
//!
//! - "mysql" keeps rows in a file under `/var/lib/mysql` (its PVC) and
//!   answers only to the root password it was started with (a `secretKeyRef`
//!   to the kustomize-generated Secret);
//! - "wordpress" reaches it as `wordpress-mysql` (a headless Service), marks
//!   its own PVC (`/var/www/html`) on first start, and is published on the
//!   host by a LoadBalancer Service.
//!
//! One deviation from the tutorial: the LoadBalancer listens on a free port
//! instead of 80, so parallel runs do not collide, and the MySQL claim uses a
//! `Retain` StorageClass so that `delete -k` has a volume it must keep.

mod common;

use common::{DEFAULT, K2d, eventually, unique};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const IMAGE: &str = "k2d-test/busybox:1";
const SLOW: Duration = Duration::from_secs(90);
const PASSWORD: &str = "s3cr3t-pw";

fn kustomization(dir: &Path, lb_port: u16, class: &str) {
    let files = [
        (
            "kustomization.yaml",
            format!(
                r#"secretGenerator:
- name: mysql-pass
  literals:
  - password={PASSWORD}
resources:
  - storageclass.yaml
  - mysql-deployment.yaml
  - wordpress-deployment.yaml
"#
            ),
        ),
        (
            "storageclass.yaml",
            format!(
                r#"apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: {class}
provisioner: k2d.io/local
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
"#
            ),
        ),
        (
            "mysql-deployment.yaml",
            format!(
                r#"apiVersion: v1
kind: Service
metadata:
  name: wordpress-mysql
  labels:
    app: wordpress
spec:
  ports:
    - port: 3306
  selector:
    app: wordpress
    tier: mysql
  clusterIP: None
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: mysql-pv-claim
  labels:
    app: wordpress
spec:
  storageClassName: {class}
  accessModes:
    - ReadWriteOnce
  resources:
    requests:
      storage: 20Gi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: wordpress-mysql
  labels:
    app: wordpress
spec:
  selector:
    matchLabels:
      app: wordpress
      tier: mysql
  strategy:
    type: Recreate
  template:
    metadata:
      labels:
        app: wordpress
        tier: mysql
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - image: {IMAGE}
        imagePullPolicy: IfNotPresent
        name: mysql
        command: ["sh", "-c", {MYSQL:?}]
        env:
        - name: MYSQL_ROOT_PASSWORD
          valueFrom:
            secretKeyRef:
              name: mysql-pass
              key: password
        - name: MYSQL_DATABASE
          value: wordpress
        - name: MYSQL_USER
          value: wordpress
        ports:
        - containerPort: 3306
          name: mysql
        volumeMounts:
        - name: mysql-persistent-storage
          mountPath: /var/lib/mysql
      volumes:
      - name: mysql-persistent-storage
        persistentVolumeClaim:
          claimName: mysql-pv-claim
"#
            ),
        ),
        (
            "wordpress-deployment.yaml",
            format!(
                r#"apiVersion: v1
kind: Service
metadata:
  name: wordpress
  labels:
    app: wordpress
spec:
  ports:
    - port: {lb_port}
      targetPort: 80
  selector:
    app: wordpress
    tier: frontend
  type: LoadBalancer
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: wp-pv-claim
  labels:
    app: wordpress
spec:
  accessModes:
    - ReadWriteOnce
  resources:
    requests:
      storage: 20Gi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: wordpress
  labels:
    app: wordpress
spec:
  selector:
    matchLabels:
      app: wordpress
      tier: frontend
  strategy:
    type: Recreate
  template:
    metadata:
      labels:
        app: wordpress
        tier: frontend
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - image: {IMAGE}
        imagePullPolicy: IfNotPresent
        name: wordpress
        command: ["sh", "-c", {WORDPRESS:?}]
        env:
        - name: WORDPRESS_DB_HOST
          value: wordpress-mysql
        - name: WORDPRESS_DB_PASSWORD
          valueFrom:
            secretKeyRef:
              name: mysql-pass
              key: password
        - name: WORDPRESS_DB_USER
          value: wordpress
        ports:
        - containerPort: 80
          name: wordpress
        volumeMounts:
        - name: wordpress-persistent-storage
          mountPath: /var/www/html
      volumes:
      - name: wordpress-persistent-storage
        persistentVolumeClaim:
          claimName: wp-pv-claim
"#
            ),
        ),
    ];
    std::fs::create_dir_all(dir).expect("creating the kustomization directory");
    for (name, body) in files {
        std::fs::write(dir.join(name), body).expect("writing the kustomization");
    }
}

/// The "database": `put?pw=P&v=V` appends V, `get?pw=P` lists the rows, on
/// the data directory (the PVC); a wrong password is refused. The password is
/// fixed in the data directory on first start, as mysqld does.
const MYSQL: &str = r#"set -e
[ -f /var/lib/mysql/password ] || echo "$MYSQL_ROOT_PASSWORD" > /var/lib/mysql/password
touch /var/lib/mysql/rows
mkdir -p /srv/cgi-bin
cat > /srv/cgi-bin/db <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
pw=$(echo "$QUERY_STRING" | sed -n 's/.*pw=\([^&]*\).*/\1/p')
if [ "$pw" != "$(cat /var/lib/mysql/password)" ]; then echo "access denied"; exit 0; fi
v=$(echo "$QUERY_STRING" | sed -n 's/.*v=\([^&]*\).*/\1/p')
[ -z "$v" ] || echo "$v" >> /var/lib/mysql/rows
echo "rows: $(cat /var/lib/mysql/rows | tr '\n' ' ')"
EOF
chmod +x /srv/cgi-bin/db
exec httpd -f -p 3306 -h /srv"#;

/// The "front end": `/cgi-bin/wp?v=V` asks the database by its Service
/// name and shows when this site was installed (a file on its own PVC).
const WORDPRESS: &str = r#"set -e
[ -f /var/www/html/installed ] || echo "$(date +%s)-$RANDOM" > /var/www/html/installed
printf 'DB=%s\nPW=%s\n' "$WORDPRESS_DB_HOST" "$WORDPRESS_DB_PASSWORD" > /etc/wp.conf
mkdir -p /srv/cgi-bin
cat > /srv/cgi-bin/wp <<'EOF'
#!/bin/sh
. /etc/wp.conf
printf 'Content-Type: text/plain\r\n\r\n'
echo "installed: $(cat /var/www/html/installed)"
timeout 5 wget -q -O - "http://$DB:3306/cgi-bin/db?pw=$PW&$QUERY_STRING" || echo "database unreachable"
EOF
chmod +x /srv/cgi-bin/wp
exec httpd -f -p 80 -h /srv"#;

/// GET `path` on the host's `port`: the body, or "" if nothing answered.
fn host_get(port: u16, path: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    if s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_once("\r\n\r\n").map(|(_, b)| b.trim().to_string()).unwrap_or_default()
}

/// The site's answer once it has one that names its database rows.
fn site(port: u16, query: &str) -> String {
    let deadline = std::time::Instant::now() + SLOW;
    loop {
        let body = host_get(port, &format!("/cgi-bin/wp?{query}"));
        if body.contains("rows:") {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the site did not answer {query:?}; last answer: {body:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("running docker");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn json_of(k: &K2d, args: &[&str]) -> Value {
    let out = k.ok(DEFAULT, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn rollout(k: &K2d, ns: &str, name: &str) {
    k.ok(DEFAULT, &["-n", ns, "rollout", "status", &format!("deploy/{name}"), "--timeout=90s"]);
}

/// Containers of pods of `ns`, and Service proxies of `ns`, in any state.
fn containers_of(ns: &str) -> String {
    let pods =
        docker(&["ps", "-aq", "--filter", &format!("label=io.kubernetes.pod.namespace={ns}")]);
    let proxies =
        docker(&["ps", "-aq", "--filter", &format!("label=k2d.io/service-namespace={ns}")]);
    format!("{pods}{proxies}").trim().to_string()
}

/// DNS aliases on the pod network that name something in `ns`.
fn aliases_of(ns: &str) -> Vec<String> {
    let ids = docker(&["ps", "-q", "--filter", "network=k2d"]);
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let mut args = vec!["inspect", "-f", "{{json .NetworkSettings.Networks.k2d.Aliases}}"];
    args.extend(&ids);
    docker(&args)
        .lines()
        .filter_map(|l| serde_json::from_str::<Vec<String>>(l).ok())
        .flatten()
        .filter(|a| a.ends_with(&format!(".{ns}")) || a.contains(&format!(".{ns}.")))
        .collect()
}

/// The Docker volume behind the PV bound to claim `claim`, and the PV's name.
fn volume_of(k: &K2d, ns: &str, claim: &str) -> (String, String) {
    let pvc = json_of(k, &["-n", ns, "get", "pvc", claim, "-o", "json"]);
    let pv_name = pvc["spec"]["volumeName"].as_str().expect("a bound claim").to_string();
    let pv = json_of(k, &["get", "pv", &pv_name, "-o", "json"]);
    let volume = pv["spec"]["csi"]["volumeHandle"]
        .as_str()
        .unwrap_or_else(|| panic!("no Docker volume recorded on {pv}"))
        .to_string();
    (volume, pv_name)
}

fn volume_exists(name: &str) -> bool {
    Command::new("docker")
        .args(["volume", "inspect", name])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn wordpress_and_mysql_with_persistent_volumes() {
    let mut k = K2d::start();
    let ns = unique(&format!("app-wp-{}", std::process::id()));
    k.ok(DEFAULT, &["create", "namespace", &ns]);
    let class = format!("retain-{ns}");
    let lb_port = free_port();
    let dir = k.root.join("wordpress");
    kustomization(&dir, lb_port, &class);
    let dir_s = dir.to_str().unwrap();

    let applied = k.ok(DEFAULT, &["-n", &ns, "apply", "-k", dir_s]);
    for what in [
        "secret/mysql-pass-",
        "service/wordpress-mysql created",
        "service/wordpress created",
        "persistentvolumeclaim/mysql-pv-claim created",
        "persistentvolumeclaim/wp-pv-claim created",
        "deployment.apps/wordpress-mysql created",
        "deployment.apps/wordpress created",
    ] {
        assert!(applied.contains(what), "{what} missing from:\n{applied}");
    }
    rollout(&k, &ns, "wordpress-mysql");
    rollout(&k, &ns, "wordpress");
    let pvcs = k.ok(DEFAULT, &["-n", &ns, "get", "pvc"]);
    assert_eq!(pvcs.matches("Bound").count(), 2, "{pvcs}");

    // The front end reaches the database by its Service name, with the
    // generated Secret's password.
    let first = site(lb_port, "v=hello");
    assert!(first.contains("rows: hello"), "{first}");
    let installed = first.lines().next().unwrap_or_default().to_string();
    assert!(installed.starts_with("installed: "), "{first}");

    // Data on both claims outlives the pods.
    k.ok(DEFAULT, &["-n", &ns, "delete", "pod", "-l", "app=wordpress", "--wait=true"]);
    rollout(&k, &ns, "wordpress-mysql");
    rollout(&k, &ns, "wordpress");
    let again = site(lb_port, "v=world");
    assert!(again.contains("rows: hello world"), "{again}");
    assert!(again.starts_with(&installed), "{again}");

    // ...and k2d restarting, with the pods recreated afterwards.
    k.restart();
    k.ok(DEFAULT, &["-n", &ns, "delete", "pod", "-l", "tier=mysql", "--wait=true"]);
    rollout(&k, &ns, "wordpress-mysql");
    let after = site(lb_port, "v=again");
    assert!(after.contains("rows: hello world again"), "{after}");
    assert!(after.starts_with(&installed), "{after}");

    let (mysql_volume, mysql_pv) = volume_of(&k, &ns, "mysql-pv-claim");
    let (wp_volume, wp_pv) = volume_of(&k, &ns, "wp-pv-claim");
    assert!(volume_exists(&mysql_volume) && volume_exists(&wp_volume));

    // `delete -k` takes everything away but the Retain volume.
    k.ok(DEFAULT, &["-n", &ns, "delete", "-k", dir_s, "--wait=true"]);
    eventually("the app's containers and aliases gone", SLOW, || {
        (containers_of(&ns).is_empty() && aliases_of(&ns).is_empty()).then_some(())
    });
    eventually("the Delete volume and its PV gone", SLOW, || {
        let pv = k.kubectl(DEFAULT, &["get", "pv", &wp_pv]);
        (!volume_exists(&wp_volume) && !pv.status.success()).then_some(())
    });
    let kept = json_of(&k, &["get", "pv", &mysql_pv, "-o", "json"]);
    assert_eq!(kept["status"]["phase"], "Released", "{kept}");
    assert!(volume_exists(&mysql_volume), "the Retain volume was removed");
    assert_eq!(host_get(lb_port, "/cgi-bin/wp"), "", "the load balancer still answers");

    // Retained data is the administrator's to remove.
    k.ok(DEFAULT, &["delete", "pv", &mysql_pv]);
    k.ok(DEFAULT, &["delete", "namespace", &ns]);
    docker(&["volume", "rm", &mysql_volume]);
}

#[test]
fn deleting_the_namespace_leaves_nothing_in_docker() {
    let k = K2d::start();
    let ns = unique(&format!("app-ns-{}", std::process::id()));
    k.ok(DEFAULT, &["create", "namespace", &ns]);
    let class = format!("retain-{ns}");
    let lb_port = free_port();
    let dir = k.root.join("wordpress");
    kustomization(&dir, lb_port, &class);
    k.ok(DEFAULT, &["-n", &ns, "apply", "-k", dir.to_str().unwrap()]);
    rollout(&k, &ns, "wordpress-mysql");
    rollout(&k, &ns, "wordpress");
    assert!(site(lb_port, "v=x").contains("rows: x"));
    let (mysql_volume, mysql_pv) = volume_of(&k, &ns, "mysql-pv-claim");
    let (wp_volume, wp_pv) = volume_of(&k, &ns, "wp-pv-claim");
    assert!(!aliases_of(&ns).is_empty(), "the Services have no DNS names");

    k.ok(DEFAULT, &["delete", "namespace", &ns, "--timeout=90s"]);
    assert!(containers_of(&ns).is_empty(), "containers left:\n{}", containers_of(&ns));
    assert!(aliases_of(&ns).is_empty(), "aliases left: {:?}", aliases_of(&ns));
    eventually("the Delete volume and its PV gone", SLOW, || {
        let pv = k.kubectl(DEFAULT, &["get", "pv", &wp_pv]);
        (!volume_exists(&wp_volume) && !pv.status.success()).then_some(())
    });
    // A Retain volume outlives its namespace, as in Kubernetes.
    let kept = json_of(&k, &["get", "pv", &mysql_pv, "-o", "json"]);
    assert_eq!(kept["status"]["phase"], "Released", "{kept}");
    k.ok(DEFAULT, &["delete", "pv", &mysql_pv]);
    k.ok(DEFAULT, &["delete", "storageclass", &class]);
    docker(&["volume", "rm", &mysql_volume]);
}
