#!/usr/bin/env bash
# Bring up what operator-core's demo and tests need, on a fresh Debian machine as root:
#   1. a Docker engine that answers `docker info` (installed and started here if none does);
#   2. the local test image, built from a static busybox with `docker import` (no registry).
# Where an engine answers and the image exists, it does nothing.
set -euo pipefail

IMAGE="${OPERATOR_TEST_IMAGE:-operator-core/busybox:test}"
LOG="${OPERATOR_DOCKERD_LOG:-/var/log/operator-core-dockerd.log}"

say() { printf 'setup-engine: %s\n' "$*"; }
engine_up() { timeout 10 docker info >/dev/null 2>&1; }
need_root() {
    [ "$(id -u)" = 0 ] || { say "$1 needs root; run this script as root or do it by hand" >&2; exit 1; }
}
apt_install() {
    need_root "installing $*"
    if [ ! -f /var/lib/apt/periodic/operator-core-updated ]; then
        apt-get update -qq && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/operator-core-updated
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

start_engine() {
    command -v dockerd >/dev/null || apt_install docker.io
    command -v docker >/dev/null || apt_install docker.io
    need_root "starting dockerd"
    # A dockerd killed with its machine leaves a pid file that stops the next one starting.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    say "starting dockerd (log: $LOG)"
    nohup dockerd >"$LOG" 2>&1 &
    for _ in $(seq 1 60); do
        engine_up && return 0
        sleep 1
    done
    say "dockerd did not answer within 60s; the end of its log:" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 1
}

static_busybox() {
    # A dynamically linked busybox would not run in an image without its libc.
    for candidate in /bin/busybox /usr/bin/busybox; do
        if [ -x "$candidate" ] && ! ldd "$candidate" >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    apt_install busybox-static
    echo /bin/busybox
}

build_image() {
    local busybox rootfs
    busybox="$(static_busybox)"
    rootfs="$(mktemp -d)"
    trap 'rm -rf "$rootfs"' RETURN
    mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/www" "$rootfs/root"
    chmod 1777 "$rootfs/tmp"
    cp "$busybox" "$rootfs/bin/busybox"
    for applet in $("$rootfs/bin/busybox" --list); do
        # `busybox --list` names busybox itself; a link there would replace the binary.
        [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
        >"$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
    echo '<h1>operator-core test page</h1>' >"$rootfs/www/index.html"
    tar -C "$rootfs" -c . | docker import \
        -c 'ENV PATH=/bin' -c 'CMD ["sh"]' -c 'LABEL org.opencontainers.image.title=operator-core-test' \
        - "$IMAGE" >/dev/null
    say "built $IMAGE from $busybox"
}

engine_up || start_engine
docker image inspect "$IMAGE" >/dev/null 2>&1 || build_image
say "engine $(docker version --format '{{.Server.Version}}') answers; image $IMAGE is present"
