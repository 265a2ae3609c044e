#!/usr/bin/env bash
# Bring up what the Podman engine tests need, on a fresh Debian machine as root:
#   1. podman (apt's), which needs no daemon;
#   2. the local test image in podman's own store, copied from Docker's (run
#      scripts/setup-engine.sh first: it builds the image with `docker import`).
# Where podman and the image are there, it does nothing.
set -euo pipefail

IMAGE="${OPERATOR_TEST_IMAGE:-operator-core/busybox:test}"

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
say "podman $(podman version --format '{{.Client.Version}}') is ready; image $IMAGE is present"
