#!/usr/bin/env python3
"""k2d benchmark driver: starts the binary, measures, PRINTS figures (never asserts).

Called by scripts/bench.sh, which builds the binary and owns the work directory. Python 3.11
standard library only, so it runs on any box that runs the tests.

Adding a benchmark (e.g. pods or deployments for later issues): write `def bench_x(ctx)` that
records figures with `ctx.report.add(...)`, and append `("x", bench_x)` to BENCHMARKS. Each
benchmark starts the k2d instances it needs (`ctx.start()`), so they can be run alone:
`scripts/bench.sh configmaps watchers`.

Client and server share the machine (2 cores here): latencies include this Python client's own
cost (TLS, JSON, thread wake-ups), so they are an upper bound on what k2d itself adds.
"""

import argparse
import base64
import http.client
import json
import os
import platform
import random
import secrets
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

NAMESPACE = "bench"
CONFIGMAPS = 1000
CREATE_THREADS = 8
GETS = 500
LISTS = 50
WATCHERS = 100
WATCH_ROUNDS = 5
WATCH_RELEASE_WAIT_S = 75.0
COLD_STARTS = 5
BURST_SIZE = 8
BURST_ROUNDS = 25
BURST_TIMEOUT_S = 2.0
READY_TIMEOUT_S = 60.0
# Between readiness polls: short enough for ms resolution, long enough not to steal a core
# from the k2d that is starting.
POLL_INTERVAL_S = 0.002


# ---------------------------------------------------------------------------------------------
# Figures


class Report:
    """Figures in run order; printed as a table at the end (and optionally as JSON)."""

    def __init__(self):
        self.rows = []  # (section, name, value, unit, detail)
        self.section = ""

    def add(self, name, value, unit="", detail=""):
        self.rows.append((self.section, name, value, unit, detail))
        # Progress on stderr, so a long run shows where it is.
        print(f"  {name} = {fmt(value)} {unit} {detail}".rstrip(), file=sys.stderr, flush=True)

    def add_dist(self, name, samples_s, detail=""):
        """A latency distribution given in seconds, reported in ms."""
        ms = sorted(s * 1000.0 for s in samples_s)
        d = f"p50={fmt(pct(ms, 50))} p99={fmt(pct(ms, 99))} min={fmt(ms[0])} max={fmt(ms[-1])}"
        self.add(name, pct(ms, 50), "ms", f"{d} n={len(ms)} {detail}".rstrip())

    def print_table(self, out=sys.stdout):
        width = max([len(r[1]) for r in self.rows] + [10])
        vwidth = max(
            [len(f"{fmt(r[2])} {r[3]}".strip()) for r in self.rows if not isinstance(r[2], str)]
            + [8]
        )
        section = None
        for sec, name, value, unit, detail in self.rows:
            if sec != section:
                section = sec
                print(f"\n[{sec}]", file=out)
            v = f"{fmt(value)} {unit}".strip()
            print(f"  {name:<{width}}  {v:<{vwidth}}  {detail}".rstrip(), file=out)

    def as_json(self):
        return [
            {"section": s, "name": n, "value": v, "unit": u, "detail": d}
            for s, n, v, u, d in self.rows
        ]


def fmt(v):
    if isinstance(v, float):
        return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"
    return str(v)


def pct(sorted_vals, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, -(-p * len(sorted_vals) // 100) - 1))
    return sorted_vals[int(k)]


# ---------------------------------------------------------------------------------------------
# The k2d process


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid):
    """VmRSS/VmHWM in MiB and the thread count from /proc/<pid>/status."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) / 1024.0
            elif k == "Threads":
                out[k] = int(v)
    return out


class K2d:
    """One k2d process on its own data dir, port and secret."""

    def __init__(self, ctx, data_dir):
        self.ctx = ctx
        self.data = data_dir
        self.port = free_port()
        self.secret = secrets.token_hex(16)
        self.token = base64.b64encode(self.secret.encode()).decode()
        self.proc = None
        self.log = None

    def start(self):
        """Exec the binary; returns the perf_counter time just before the exec."""
        env = dict(os.environ)
        env.update(
            K2D_DATA_PATH=self.data,
            K2D_PORT=str(self.port),
            K2D_BIND_ADDR="127.0.0.1",
            K2D_ADVERTISE_ADDR="127.0.0.1",
            K2D_SECRET=self.secret,
            K2D_LOG_LEVEL=os.environ.get("K2D_LOG_LEVEL", "warn"),
        )
        self.log = open(self.data.rstrip("/") + ".log", "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([self.ctx.bin], env=env, stdout=self.log, stderr=self.log)
        self.ctx.track(self.proc.pid)
        return t0

    def wait_ready(self):
        """Poll `/readyz` over HTTPS until it answers `ok`; returns the perf_counter time then.

        The CA does not exist before k2d writes it, so polling skips verification; the TLS
        handshake is still part of every poll, as it is for a real client."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        deadline = time.perf_counter() + READY_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"k2d exited with {self.proc.returncode}; see {self.log.name}")
            try:
                c = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=5)
                c.request("GET", "/readyz")
                r = c.getresponse()
                body = r.read()
                c.close()
                if r.status == 200 and body.strip() == b"ok":
                    return time.perf_counter()
            except (OSError, http.client.HTTPException):
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"k2d not ready after {READY_TIMEOUT_S}s; see {self.log.name}")
            time.sleep(POLL_INTERVAL_S)

    def status(self):
        return proc_status(self.proc.pid)

    def client(self, timeout=30, warm=False):
        c = Client(self, timeout)
        if warm:
            c.call("GET", "/version")
        return c

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.ctx.untrack(self.proc.pid)
        if self.log:
            self.log.close()


class Client:
    """A kept-alive, verified HTTPS connection with the bearer token."""

    def __init__(self, k2d, timeout=30):
        self.k2d = k2d
        ctx = ssl.create_default_context(cafile=os.path.join(k2d.data, "pki", "ca.crt"))
        ctx.check_hostname = False  # the cert's SANs include 127.0.0.1; skip the name check cost
        self.ssl = ctx
        self.timeout = timeout
        self.conn = self._connect()

    def _connect(self):
        return http.client.HTTPSConnection(
            "127.0.0.1", self.k2d.port, context=self.ssl, timeout=self.timeout
        )

    def send(self, method, path, body=None, ctype="application/json"):
        """Send a request without reading the answer (for watches)."""
        headers = {"Authorization": f"Bearer {self.k2d.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = ctype
        self.conn.request(method, path, body=data, headers=headers)

    def call(self, method, path, body=None, ctype="application/json", ok=(200, 201)):
        """One request and its whole answer; returns (status, body bytes)."""
        self.send(method, path, body, ctype)
        r = self.conn.getresponse()
        data = r.read()
        if r.status not in ok:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:300]!r}")
        return r.status, data

    def close(self):
        self.conn.close()


# ---------------------------------------------------------------------------------------------
# Context shared by the benchmarks


class Ctx:
    def __init__(self, binary, work):
        self.bin = binary
        self.work = work
        self.report = Report()
        self.instances = []
        self._n = 0
        self._pids = set()

    def data_dir(self):
        self._n += 1
        d = os.path.join(self.work, f"data-{self._n}")
        os.makedirs(d)
        return d

    def start(self, data_dir=None):
        """Start k2d on a fresh (or given) data dir and wait until it is ready."""
        k = K2d(self, data_dir or self.data_dir())
        self.instances.append(k)
        t0 = k.start()
        t1 = k.wait_ready()
        return k, t1 - t0

    def track(self, pid):
        # The pid list lets bench.sh's trap end our k2d processes even if Python is killed.
        self._pids.add(pid)
        self._write_pids()

    def untrack(self, pid):
        self._pids.discard(pid)
        self._write_pids()

    def _write_pids(self):
        with open(os.path.join(self.work, "k2d.pids"), "w") as f:
            f.write("".join(f"{p}\n" for p in sorted(self._pids)))

    def stop_all(self):
        for k in self.instances:
            k.stop()
        self.instances.clear()


# ---------------------------------------------------------------------------------------------
# Benchmarks


def bench_startup(ctx):
    """Cold starts (fresh data dir: CA, certificate and token generated) to the first `ok`
    from `/readyz`, and RSS a second after ready."""
    times, rss, threads = [], [], []
    for _ in range(COLD_STARTS):
        k, dt = ctx.start()
        time.sleep(1.0)
        st = k.status()
        times.append(dt)
        rss.append(st["VmRSS"])
        threads.append(st["Threads"])
        k.stop()
    ctx.report.add_dist("startup_to_readyz_ms", times, "(cold, fresh data dir)")
    ctx.report.add(
        "idle_rss_mib",
        statistics.median(rss),
        "MiB",
        f"median of {len(rss)}; min={fmt(min(rss))} max={fmt(max(rss))} (1 s after ready)",
    )
    ctx.report.add("idle_threads", int(statistics.median(threads)))


def cm_name(i):
    return f"cm-{i:05d}"


def cm_body(i):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": cm_name(i), "labels": {"app": "bench", "shard": str(i % 10)}},
        "data": {"index": str(i), "payload": "x" * 200},
    }


def create_namespace(k):
    c = k.client()
    c.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": NAMESPACE}})
    c.close()


def load_configmaps(k, n=CONFIGMAPS):
    """Create n ConfigMaps over CREATE_THREADS kept-alive connections; returns the seconds.

    The connections are opened one after another, each with a first request answered, before
    the concurrent part: tiny_http 0.12's connection pool can lose a wake-up when connections
    arrive together and then leaves one unserved until another closes (see bench_connect_burst,
    which counts exactly that). The front door now works around it (frontdoor::hand_off, at
    the cost of a 20 ms wait for the connections affected); kept so figures stay comparable."""
    clients = [k.client(warm=True) for _ in range(CREATE_THREADS)]
    path = f"/api/v1/namespaces/{NAMESPACE}/configmaps"

    def create(shard):
        c = clients[shard]
        for i in range(shard, n, CREATE_THREADS):
            c.call("POST", path, cm_body(i), ok=(201,))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(CREATE_THREADS) as pool:
        list(pool.map(create, range(CREATE_THREADS)))
    took = time.perf_counter() - t0
    for c in clients:
        c.close()
    return took


def list_configmaps(c):
    _, data = c.call("GET", f"/api/v1/namespaces/{NAMESPACE}/configmaps")
    return data, json.loads(data)


def bench_configmaps(ctx):
    """1,000 ConfigMaps: load rate, RSS, GET and LIST latency, restart time with them."""
    k, _ = ctx.start()
    create_namespace(k)
    took = load_configmaps(k)
    ctx.report.add(
        "create_1000_cm_s", took, "s",
        f"{CONFIGMAPS / took:.0f}/s with {CREATE_THREADS} kept-alive connections",
    )
    time.sleep(1.0)
    st = k.status()
    ctx.report.add("rss_1000_cm_mib", st["VmRSS"], "MiB", f"peak so far {fmt(st['VmHWM'])} MiB")

    c = k.client()
    raw, lst = list_configmaps(c)
    n = len(lst["items"])
    rng = random.Random(2)
    for i in range(20):  # warm-up
        c.call("GET", f"/api/v1/namespaces/{NAMESPACE}/configmaps/{cm_name(i)}")
    gets = []
    for _ in range(GETS):
        path = f"/api/v1/namespaces/{NAMESPACE}/configmaps/{cm_name(rng.randrange(CONFIGMAPS))}"
        t0 = time.perf_counter()
        c.call("GET", path)
        gets.append(time.perf_counter() - t0)
    ctx.report.add_dist("get_cm_ms", gets, "(one kept-alive TLS connection)")
    lists = []
    for _ in range(LISTS):
        t0 = time.perf_counter()
        c.call("GET", f"/api/v1/namespaces/{NAMESPACE}/configmaps")  # body read, not parsed
        lists.append(time.perf_counter() - t0)
    ctx.report.add_dist("list_1000_cm_ms", lists, f"({n} items, {len(raw) / 1024:.0f} KiB JSON)")
    c.close()
    st = k.status()
    ctx.report.add("rss_after_get_list_mib", st["VmRSS"], "MiB", f"peak {fmt(st['VmHWM'])} MiB")

    # A warm restart has to load the objects back into the index.
    k.stop()
    k2, dt = ctx.start(k.data)
    ctx.report.add("restart_to_readyz_1000_cm_ms", dt * 1000.0, "ms", "(same data dir)")
    time.sleep(1.0)
    ctx.report.add("rss_after_restart_1000_cm_mib", k2.status()["VmRSS"], "MiB")
    k2.stop()


class Watcher(threading.Thread):
    """One watch connection; records when it reads each MODIFIED event's `round` value."""

    def __init__(self, k, rv, seen, cond):
        super().__init__(daemon=True)
        self.client = k.client(timeout=None)
        self.rv = rv
        self.seen = seen  # round -> list of perf_counter times
        self.cond = cond
        self.established = threading.Event()
        self.error = None

    def run(self):
        try:
            self.client.send(
                "GET",
                f"/api/v1/namespaces/{NAMESPACE}/configmaps?watch=true&resourceVersion={self.rv}",
            )
            r = self.client.conn.getresponse()
            if r.status != 200:
                raise RuntimeError(f"watch: {r.status} {r.read()[:300]!r}")
            # k2d subscribes before it writes the response head, so headers mean "established".
            self.established.set()
            buf = ""
            dec = json.JSONDecoder()
            while True:
                chunk = r.read1(65536)
                now = time.perf_counter()
                if not chunk:
                    return
                buf += chunk.decode()
                # Events are JSON documents; don't rely on how they are split into chunks.
                while True:
                    buf = buf.lstrip()
                    if not buf:
                        break
                    try:
                        ev, end = dec.raw_decode(buf)
                    except json.JSONDecodeError:
                        break
                    buf = buf[end:]
                    if ev.get("type") == "MODIFIED":
                        rnd = ev["object"].get("data", {}).get("round")
                        with self.cond:
                            self.seen.setdefault(rnd, []).append(now)
                            self.cond.notify_all()
        except Exception as e:  # noqa: BLE001 - reported by the benchmark, not raised in a thread
            if not self.established.is_set() or not isinstance(e, (OSError, ValueError)):
                self.error = e
            self.established.set()

    def close(self):
        # Shutting the socket down wakes the blocked reader; close() alone may not.
        sock = self.client.conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.client.close()


def bench_watchers(ctx):
    """100 watches on the namespace; time from a PATCH until all of them have read the event."""
    k, _ = ctx.start()
    create_namespace(k)
    load_configmaps(k)
    c = k.client()
    _, lst = list_configmaps(c)
    rv = lst["metadata"]["resourceVersion"]

    base_threads = k.status()["Threads"]
    seen, cond = {}, threading.Condition()
    ws = [Watcher(k, rv, seen, cond) for _ in range(WATCHERS)]
    # One after another (each established before the next starts), for the reason given in
    # load_configmaps; they are all open at once afterwards.
    t0 = time.perf_counter()
    for w in ws:
        w.start()
        if not w.established.wait(30):
            raise RuntimeError("a watch got no response headers in 30 s")
        if w.error:
            raise RuntimeError(f"watch failed: {w.error}")
    ctx.report.add(
        "open_100_watches_ms", (time.perf_counter() - t0) * 1000.0, "ms",
        f"one after another, each until its response headers",
    )
    time.sleep(1.0)  # let every watcher settle into its blocking read
    st = k.status()
    ctx.report.add(
        "rss_100_watchers_mib", st["VmRSS"], "MiB",
        f"threads={st['Threads']} (1,000 ConfigMaps loaded)",
    )

    from_send, from_ack, first = [], [], []
    path = f"/api/v1/namespaces/{NAMESPACE}/configmaps/{cm_name(0)}"
    for rnd in range(WATCH_ROUNDS):
        key = str(rnd)
        t_send = time.perf_counter()
        c.call("PATCH", path, {"data": {"round": key}}, "application/merge-patch+json")
        t_ack = time.perf_counter()
        with cond:
            done = cond.wait_for(lambda: len(seen.get(key, [])) >= WATCHERS, timeout=30)
            times = list(seen.get(key, []))
        if not done:
            raise RuntimeError(f"round {rnd}: only {len(times)} of {WATCHERS} watchers saw it")
        from_send.append(max(times) - t_send)
        from_ack.append(max(times) - t_ack)
        first.append(min(times) - t_send)
        time.sleep(0.2)
    ctx.report.add_dist(
        "all_100_watchers_saw_change_ms", from_send, f"(from PATCH send; {WATCH_ROUNDS} changes)"
    )
    ctx.report.add_dist("  ... from_patch_ack_ms", from_ack)
    ctx.report.add_dist("  ... first_watcher_ms", first, "(from PATCH send)")

    for w in ws:
        w.close()
    c.close()
    # The front door closes a departed watcher's backend connection once it has been quiet
    # for a second after the client's EOF, and the watch thread notices at its next write
    # (heartbeat every 5 s), so threads linger for a while: report how long, up to
    # WATCH_RELEASE_WAIT_S.
    t0 = time.perf_counter()
    while True:
        st = k.status()
        gone = st["Threads"] <= base_threads + 2
        if gone or time.perf_counter() - t0 > WATCH_RELEASE_WAIT_S:
            break
        time.sleep(0.5)
    ctx.report.add(
        "watch_threads_released_s",
        time.perf_counter() - t0 if gone else f">{WATCH_RELEASE_WAIT_S:g}",
        "s",
        f"threads {st['Threads']} (before the watches: {base_threads}); "
        f"rss then {fmt(st['VmRSS'])} MiB",
    )
    k.stop()


def bench_connect_burst(ctx):
    """A burst of new connections kept alive, as kubectl's parallel discovery makes, on a
    just-started k2d: BURST_SIZE threads each connect and send `GET /version` at one moment,
    and keep their connection open until all have an answer (or BURST_TIMEOUT_S).

    A request not answered in time counts as stalled: tiny_http 0.12's TaskPool can queue a new
    connection while no thread is left awake to take it; the connection then waits until
    another one closes. A fresh k2d per round, because the pool's idle threads hide it later.
    The front door kicks the pool when it sees a request left unread (frontdoor::hand_off), so
    0 is expected; the kicked ones show up as ~20 ms more in the latency's upper end."""
    lat, stalled = [], 0
    barrier = threading.Barrier(BURST_SIZE)
    data = None

    def one(k, answered, done):
        barrier.wait()
        t0 = time.perf_counter()
        c = None
        try:
            c = k.client(timeout=BURST_TIMEOUT_S, warm=True)
            answered.release()
            return time.perf_counter() - t0
        except (OSError, http.client.HTTPException):
            return None
        finally:
            done.wait(BURST_TIMEOUT_S + 5)  # hold the connection like a kept-alive client
            if c:
                c.close()

    with ThreadPoolExecutor(BURST_SIZE) as pool:
        for _ in range(BURST_ROUNDS):
            k, _ = ctx.start(data)
            data = k.data
            answered, done = threading.Semaphore(0), threading.Event()
            futs = [pool.submit(one, k, answered, done) for _ in range(BURST_SIZE)]
            deadline = time.perf_counter() + BURST_TIMEOUT_S + 0.5
            for _ in futs:
                if not answered.acquire(timeout=max(0.0, deadline - time.perf_counter())):
                    break
            done.set()
            for f in futs:
                r = f.result()
                if r is None:
                    stalled += 1
                else:
                    lat.append(r)
            k.stop()
    total = BURST_ROUNDS * BURST_SIZE
    ctx.report.add(
        "stalled_requests", stalled, f"of {total}",
        f"no answer in {BURST_TIMEOUT_S:g} s ({BURST_ROUNDS} fresh starts x {BURST_SIZE} connections)",
    )
    if lat:
        ctx.report.add_dist("connect_tls_version_ms", lat, "(the answered ones)")


# ---------------------------------------------------------------------------------------------
# Pods (issue 3): needs the Docker daemon and the local test image (scripts/test-image.sh).

POD_IMAGE = "k2d-test/busybox:1"
PODS_TIMED = 10
PODS_RSS = 50
PODS_TIMEOUT_S = 180.0
KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"


def pod_body(i):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pod-{i:03d}", "labels": {"app": "bench"}},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "c", "image": POD_IMAGE, "imagePullPolicy": "IfNotPresent",
                            "command": ["sleep", "3600"]}],
        },
    }


def running_pods(c):
    _, data = c.call("GET", f"/api/v1/namespaces/{NAMESPACE}/pods")
    items = json.loads(data)["items"]
    return sum(
        1 for p in items
        if p.get("status", {}).get("phase") == "Running"
        and all(s.get("ready") for s in p["status"].get("containerStatuses", [{}]))
    ), len(items)


def wait_running(c, n, t0):
    """Poll until n pods are Running and ready; returns seconds since t0."""
    while True:
        ok, _ = running_pods(c)
        if ok >= n:
            return time.perf_counter() - t0
        if time.perf_counter() - t0 > PODS_TIMEOUT_S:
            raise RuntimeError(f"only {ok} of {n} pods Running after {PODS_TIMEOUT_S:g}s")
        time.sleep(0.05)


def kubectl_apply(k, objs):
    """`kubectl apply -f -` with k2d's kubeconfig (real kubectl, as a user would)."""
    env = dict(os.environ, KUBECONFIG=os.path.join(k.data, "kubeconfig"),
               HOME=os.path.join(k.data, "kubectl-home"))
    docs = "\n---\n".join(json.dumps(o) for o in objs)
    subprocess.run([KUBECTL, "-n", NAMESPACE, "apply", "-f", "-"], input=docs.encode(), env=env,
                   check=True, stdout=subprocess.DEVNULL, timeout=120)


def instance_containers(k):
    with open(os.path.join(k.data, "instance")) as f:
        inst = f.read().strip()
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=k2d.io/instance={inst}"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def docker_run_containers(ctx, n):
    """The baseline: `docker run -d` of n containers of the pods' image and command, one after
    the other as a script would, then removed."""
    names = [f"k2dbench-{os.getpid()}-{i}" for i in range(n)]
    t0 = time.perf_counter()
    try:
        for name in names:
            subprocess.run(["docker", "run", "-d", "--name", name, POD_IMAGE, "sleep", "3600"],
                           check=True, stdout=subprocess.DEVNULL)
        ctx.report.add(f"docker_run_{n}_containers_s", time.perf_counter() - t0,
                       "s", "(sequential `docker run -d`, same image and command)")
    finally:
        subprocess.run(["docker", "rm", "-f", *names], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def delete_namespace(ctx, k, c, figure):
    """Delete the bench namespace and wait until Docker holds nothing of this k2d; records how
    long that took and closes the client."""
    t0 = time.perf_counter()
    try:
        c.call("DELETE", f"/api/v1/namespaces/{NAMESPACE}", ok=(200, 202))
    except Exception:  # noqa: BLE001 - cleanup continues below
        pass
    left = instance_containers(k)
    while left and time.perf_counter() - t0 < PODS_TIMEOUT_S:
        time.sleep(0.2)
        left = instance_containers(k)
    ctx.report.add(figure, time.perf_counter() - t0, "s",
                   f"until no container of this k2d is left ({len(left)} left)")
    c.close()
    if left:
        subprocess.run(["docker", "rm", "-f", *left], stdout=subprocess.DEVNULL)


def start_for_pods(ctx):
    """A k2d with the bench namespace and one warm-up pod Running (the first pod also builds
    k2d's pause image and the pod network, which the timed figures should not include)."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([os.path.join(repo, "scripts", "test-image.sh")], check=True)
    k, _ = ctx.start()
    create_namespace(k)
    c = k.client()
    t0 = time.perf_counter()
    try:
        c.call("POST", f"/api/v1/namespaces/{NAMESPACE}/pods", pod_body(999), ok=(201,))
        ctx.report.add("first_pod_running_s", wait_running(c, 1, t0), "s",
                       "(includes building the pause image, if not yet in Docker)")
    except BaseException:
        delete_namespace(ctx, k, c, "delete_namespace_after_failed_start_s")
        raise
    return k, c


def bench_pods(ctx):
    """10 single-container pods from `kubectl apply` to all Running, next to `docker run -d` of
    the same 10 containers; RSS with 50 pods; time to delete them all."""
    k, c = start_for_pods(ctx)
    try:

        t0 = time.perf_counter()
        kubectl_apply(k, [pod_body(i) for i in range(PODS_TIMED)])
        applied = time.perf_counter() - t0
        took = wait_running(c, PODS_TIMED + 1, t0)
        ctx.report.add(f"apply_{PODS_TIMED}_pods_to_running_s", took, "s",
                       f"kubectl apply returned after {applied:.2f}s; each pod is a sandbox "
                       f"+ a container, so {2 * PODS_TIMED} docker containers")

        docker_run_containers(ctx, PODS_TIMED)

        t0 = time.perf_counter()
        for i in range(PODS_TIMED, PODS_RSS - 1):
            c.call("POST", f"/api/v1/namespaces/{NAMESPACE}/pods", pod_body(i), ok=(201,))
        took = wait_running(c, PODS_RSS, t0)
        ctx.report.add(f"create_{PODS_RSS - PODS_TIMED - 1}_more_pods_to_running_s", took, "s")
        time.sleep(2.0)
        st = k.status()
        ctx.report.add(f"rss_{PODS_RSS}_pods_mib", st["VmRSS"], "MiB",
                       f"peak {fmt(st['VmHWM'])} MiB, threads={st['Threads']}")
    finally:
        delete_namespace(ctx, k, c, "delete_namespace_with_pods_s")


# ---------------------------------------------------------------------------------------------
# Deployments (issue 4).

DEPLOY_TIMED = 10
DEPLOYMENTS_RSS = 20
DEPLOY_REPLICAS_RSS = 3


def deployment_body(name, replicas):
    labels = {"app": name}
    pod = pod_body(0)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod["spec"]},
        },
    }


def kubectl(k, *args, timeout=PODS_TIMEOUT_S):
    env = dict(os.environ, KUBECONFIG=os.path.join(k.data, "kubeconfig"),
               HOME=os.path.join(k.data, "kubectl-home"))
    subprocess.run([KUBECTL, "-n", NAMESPACE, *args], env=env, check=True,
                   stdout=subprocess.DEVNULL, timeout=timeout)


def bench_deployments(ctx):
    """A 10-replica Deployment from `kubectl apply` to `kubectl rollout status` done, next to
    `docker run -d` of 10 containers; RSS with 20 Deployments of 3 replicas each."""
    k, c = start_for_pods(ctx)
    try:
        t0 = time.perf_counter()
        kubectl_apply(k, [deployment_body("web", DEPLOY_TIMED)])
        kubectl(k, "rollout", "status", "deploy/web", f"--timeout={int(PODS_TIMEOUT_S)}s")
        ctx.report.add(f"apply_{DEPLOY_TIMED}_replica_deployment_to_rollout_done_s",
                       time.perf_counter() - t0, "s",
                       "kubectl apply, then kubectl rollout status until it returns")
        docker_run_containers(ctx, DEPLOY_TIMED)
        kubectl(k, "delete", "deploy/web", "--wait=true")

        t0 = time.perf_counter()
        kubectl_apply(k, [deployment_body(f"d{i:02d}", DEPLOY_REPLICAS_RSS)
                          for i in range(DEPLOYMENTS_RSS)])
        pods = DEPLOYMENTS_RSS * DEPLOY_REPLICAS_RSS
        took = wait_running(c, pods + 1, t0)
        ctx.report.add(f"apply_{DEPLOYMENTS_RSS}x{DEPLOY_REPLICAS_RSS}_deployments_to_running_s",
                       took, "s", f"{pods} pods")
        time.sleep(2.0)
        st = k.status()
        ctx.report.add(f"rss_{DEPLOYMENTS_RSS}_deployments_x{DEPLOY_REPLICAS_RSS}_mib",
                       st["VmRSS"], "MiB", f"peak {fmt(st['VmHWM'])} MiB, threads={st['Threads']}")
    finally:
        delete_namespace(ctx, k, c, "delete_namespace_with_deployments_s")


# Name, function; run in this order.
BENCHMARKS = [
    ("startup", bench_startup),
    ("configmaps", bench_configmaps),
    ("watchers", bench_watchers),
    ("connect_burst", bench_connect_burst),
    ("pods", bench_pods),
    ("deployments", bench_deployments),
]


# ---------------------------------------------------------------------------------------------


def machine(ctx):
    ctx.report.section = "machine"
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    r = ctx.report
    r.add("nproc", os.cpu_count())
    r.add("cpu_model", model)
    r.add("memory", mem)
    r.add("kernel", platform.release())
    try:
        # Other work on the box skews every figure; say how busy it was when we began.
        r.add("loadavg_1m_at_start", os.getloadavg()[0])
    except OSError:
        pass
    r.add("binary", ctx.bin_label)
    r.add("binary_size_mib", os.path.getsize(ctx.bin) / 1024 / 1024, "MiB",
          f"{os.path.getsize(ctx.bin)} bytes")
    fs = "?"
    try:
        fs = subprocess.run(["stat", "-f", "-c", "%T", ctx.work], capture_output=True,
                            text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    r.add("data_dir_fs", fs, "", ctx.work)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="k2d binary to run")
    ap.add_argument("--label", default="", help="how to name the binary in the report")
    ap.add_argument("--work", required=True, help="scratch directory (data dirs, logs)")
    ap.add_argument("--json", help="also write the figures to this file as JSON")
    ap.add_argument("only", nargs="*", help=f"benchmarks to run: {[n for n, _ in BENCHMARKS]}")
    args = ap.parse_args()
    unknown = set(args.only) - {n for n, _ in BENCHMARKS}
    if unknown:
        ap.error(f"unknown benchmark(s) {sorted(unknown)}")

    # SIGTERM (from bench.sh's trap) unwinds through `finally`, which stops k2d.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ctx = Ctx(os.path.abspath(args.bin), args.work)
    ctx.bin_label = args.label or args.bin
    failed = False
    try:
        machine(ctx)
        for name, fn in BENCHMARKS:
            if args.only and name not in args.only:
                continue
            ctx.report.section = name
            print(f"== {name}", file=sys.stderr, flush=True)
            try:
                fn(ctx)
            except Exception as e:  # noqa: BLE001 - one broken benchmark must not hide the rest
                failed = True
                traceback.print_exc()
                ctx.report.add("ERROR", type(e).__name__, "", str(e)[:200])
            finally:
                ctx.stop_all()
    finally:
        ctx.stop_all()
    print("\nk2d benchmark (figures only; nothing is asserted)")
    ctx.report.print_table()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(ctx.report.as_json(), f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
