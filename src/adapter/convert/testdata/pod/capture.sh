#!/usr/bin/env bash
# Records the `docker inspect` output the status and foreign-pod tests use, from the real
# daemon (Docker 20.10 here). Run from this directory; needs k2d-test/busybox:1
# (scripts/test-image.sh). Containers and the network are removed afterwards.
set -euo pipefail
IMG=k2d-test/busybox:1
NET=k2d-capture
UID_=0a1b2c3d-0000-4000-8000-000000000001
P=cap
cleanup() {
    docker rm -f $P-sandbox $P-init-0 $P-app-0 $P-app-1 $P-done-0 $P-oom-0 $P-created-0 \
        $P-cannotrun-0 my_Web.1 plain >/dev/null 2>&1 || true
    docker network rm $NET >/dev/null 2>&1 || true
}
cleanup
trap cleanup EXIT
docker network create $NET >/dev/null
common=(--label k2d.io/managed=true --label io.kubernetes.pod.name=demo
        --label io.kubernetes.pod.namespace=default --label io.kubernetes.pod.uid=$UID_)
ctr() { # name kind restart-count
    echo --label io.kubernetes.docker.type=container --label io.kubernetes.container.name=$1 \
        --label k2d.io/container-kind=$2 --label io.kubernetes.container.restartCount=$3 \
        --network container:$P-sandbox
}
docker run -d --name $P-sandbox "${common[@]}" --label io.kubernetes.docker.type=podsandbox \
    --network $NET --hostname demo $IMG sleep 3600 >/dev/null
docker run --name $P-init-0 "${common[@]}" $(ctr init initContainer 0) $IMG true
docker run --name $P-app-0 "${common[@]}" $(ctr app container 0) $IMG sh -c 'exit 3' || true
docker run -d --name $P-app-1 "${common[@]}" $(ctr app container 1) $IMG sleep 3600 >/dev/null
docker run --name $P-done-0 "${common[@]}" $(ctr done container 0) $IMG true
docker run --name $P-oom-0 "${common[@]}" $(ctr oom container 0) -m 8m --memory-swap 8m $IMG \
    sh -c 'x=aaaaaaaa; while true; do x=$x$x; done' || true
docker create --name $P-created-0 "${common[@]}" $(ctr created container 0) $IMG true >/dev/null
docker run --name $P-cannotrun-0 "${common[@]}" $(ctr cannotrun container 0) $IMG \
    /no/such/binary 2>/dev/null || true
# Foreign containers: one with a name and labels that need sanitising, one plain exited.
docker run -d --name my_Web.1 -p 127.0.0.1:18080:80/tcp --restart unless-stopped \
    --label com.example.tier=front --label 'a/b/c=x' --label com.example.path=/srv/www \
    -e GREETING=hello -w /srv $IMG httpd -f -p 80 >/dev/null
docker run --name plain $IMG sh -c 'echo hi' >/dev/null
sleep 1
for c in sandbox init-0 app-0 app-1 done-0 oom-0 created-0 cannotrun-0; do
    docker inspect $P-$c | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[0], indent=1))' > $c.json
done
docker inspect my_Web.1 | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[0], indent=1))' > foreign-running.json
docker inspect plain | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[0], indent=1))' > foreign-exited.json
