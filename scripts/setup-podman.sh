#!/usr/bin/env bash
# Bring up what the Podman engine tests need, on a fresh Debian machine as root:
#   1. podman (apt's);
#   2. the local test image in podman's own store, copied from Docker's (run
#      scripts/setup-engine.sh first: it builds the image with `docker import`);
#   3. Podman's Docker-compatible API (`podman system service`) on PODMAN_SOCKET (default
#      /run/podman/podman.sock, where operator-core looks for a `podman` client's engine),
#      started in the background with no idle timeout and left running, its log in
#      /var/log/operator-podman-service.log.
# Where all of it is there, it does nothing.
set -euo pipefail

IMAGE="${OPERATOR_TEST_IMAGE:-operator-core/busybox:test}"
SOCKET="${PODMAN_SOCKET:-/run/podman/podman.sock}"

say() { printf 'setup-podman: %s\n' "$*"; }

if ! command -v podman >/dev/null; then
    [ "$(id -u)" = 0 ] || { say "installing podman needs root" >&2; exit 1; }
    if [ ! -f /var/lib/apt/periodic/operator-core-updated ]; then
        apt-get update -qq && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/operator-core-updated
    fi
    say "installing podman"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null
fi
if ! podman image exists "$IMAGE"; then
    docker image inspect "$IMAGE" >/dev/null 2>&1 || {
        say "$IMAGE is not in Docker's store either; run scripts/setup-engine.sh first" >&2
        exit 1
    }
    docker save "$IMAGE" | podman load >/dev/null
    say "imported $IMAGE into podman's store"
fi
answers() { [ -S "$SOCKET" ] && curl -sf --max-time 5 --unix-socket "$SOCKET" http://d/_ping >/dev/null; }
if ! answers; then
    command -v curl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
    mkdir -p "$(dirname "$SOCKET")"
    rm -f "$SOCKET"
    setsid nohup podman system service --time=0 "unix://$SOCKET" \
        >/var/log/operator-podman-service.log 2>&1 </dev/null &
    for _ in $(seq 1 100); do answers && break; sleep 0.2; done
    answers || { say "podman system service does not answer on $SOCKET" >&2; exit 1; }
    say "podman system service answers on unix://$SOCKET"
fi
say "podman $(podman version --format '{{.Client.Version}}') is ready; image $IMAGE is present"
