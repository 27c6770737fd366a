# k2d as a container image: the static binary and nothing else, so no base image or
# registry is needed to build it. Build with scripts/build-image.sh (which first runs
# scripts/build-static.sh); K2D_ARCH picks dist/k2d-x86_64 or dist/k2d-aarch64.
#
# Run it like Portainer's k2d:
#   docker run -d --name k2d --network host --restart always \
#     -e K2D_ADVERTISE_ADDR=<host ip> -e K2D_SECRET=<secret> \
#     -v /var/lib/k2d:/var/lib/k2d -v /var/run/docker.sock:/var/run/docker.sock k2d:dev
FROM scratch
ARG K2D_ARCH=x86_64
COPY dist/k2d-${K2D_ARCH} /k2d
ENV K2D_PORT=6443 \
    K2D_BIND_ADDR=0.0.0.0 \
    K2D_DATA_PATH=/var/lib/k2d \
    K2D_LOG_LEVEL=info \
    K2D_LOG_FORMAT=text \
    DOCKER_HOST=unix:///var/run/docker.sock
EXPOSE 6443
ENTRYPOINT ["/k2d"]
