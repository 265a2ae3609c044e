#!/usr/bin/env bash
# Build operator-core's image with no registry: a local Python base made from Debian's packages,
# then the image (Dockerfile at the repository's root) on it, from scratch (run as root).
#
#   scripts/build-image.sh              remove the old tags, build the base and the image anew
#   scripts/build-image.sh --keep-base  reuse the local base when it exists (quicker, for work
#                                       on the image itself); the image is still built anew
#
# 1. The base: debootstrap --variant=minbase of Debian (the suite and mirror of apt's own
#    sources on this machine) with python3 and nothing else, caches and documentation
#    removed, imported with `docker import` as $OPERATOR_BASE_IMAGE.
# 2. The build context (build/image, not the repository): the wheel of operator-core and of
#    every dependency (`pip wheel`, outside the image build, with the python3 the base has:
#    same minor version, so that compiled wheels fit), pip's own wheel (the base has no pip;
#    the build runs pip from its wheel) and a docker CLI (the engine boundary runs the CLI;
#    Debian has no client-only package, so the one this machine's tests use is copied, or
#    $OPERATOR_IMAGE_DOCKER_CLI). The image build itself needs no network.
# 3. `docker build --no-cache --build-arg BASE=<the local base>`, then the image's size and the
#    size of the layers above the base (the target is under 200 MB) are printed.
#
# Environment: OPERATOR_IMAGE (default operator-core/operator:local), OPERATOR_BASE_IMAGE
# (default operator-core/python-base:bookworm), OPERATOR_IMAGE_DOCKER_CLI (a docker client
# binary), DEBIAN_MIRROR and DEBIAN_SUITE (default: apt's configured ones), PYTHON (the
# interpreter that runs `pip wheel`; default the repository's .venv, else python3).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
IMAGE="${OPERATOR_IMAGE:-operator-core/operator:local}"
BASE="${OPERATOR_BASE_IMAGE:-operator-core/python-base:bookworm}"
CONTEXT="$ROOT/build/image"
KEEP_BASE=0

say() { printf 'build-image: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }

apt_sources() {
    # "<mirror> <suite>" of the first Debian source apt uses (deb822 or one-line format).
    local file
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] || continue
        awk '/^URIs:/ && !u { u = $2 } /^Suites:/ && !s { s = $2 }
             END { if (u && s) print u, s }' "$file" | grep -v -- '-security' && return 0
    done
    awk '$1 == "deb" && $2 !~ /security/ { print $2, $3; exit }' /etc/apt/sources.list 2>/dev/null
}

need_tools() {
    [ "$(id -u)" = 0 ] || die "debootstrap needs root; run this script as root"
    command -v docker >/dev/null || die "no docker CLI; run scripts/setup-engine.sh first"
    timeout 10 docker info >/dev/null 2>&1 || die "no Docker engine answers; run scripts/setup-engine.sh"
    if ! command -v debootstrap >/dev/null; then
        say "installing debootstrap"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; } \
            || die "could not install debootstrap"
    fi
}

build_base() {
    local source mirror suite rootfs started
    source="$(apt_sources || true)"
    mirror="${DEBIAN_MIRROR:-${source%% *}}"
    suite="${DEBIAN_SUITE:-${source##* }}"
    [ -n "$mirror" ] && [ -n "$suite" ] || die "no Debian mirror in apt's sources; set DEBIAN_MIRROR and DEBIAN_SUITE"
    rootfs="$(mktemp -d /var/tmp/operator-base.XXXXXX)"
    trap 'rm -rf "$rootfs"' RETURN
    started=$SECONDS
    say "debootstrap --variant=minbase $suite from $mirror (python3 only)"
    debootstrap --variant=minbase --include=python3 "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
        || { tail -n 20 "$rootfs.log" >&2; die "debootstrap failed (log: $rootfs.log)"; }
    rm -f "$rootfs.log"
    # What a container never needs: package caches and lists, documentation, man pages.
    rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
        "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log
    docker image rm -f "$BASE" >/dev/null 2>&1 || true
    tar -C "$rootfs" -c . | docker import \
        -c 'ENV LANG=C.UTF-8' -c 'CMD ["python3"]' \
        -c "LABEL org.opencontainers.image.title=operator-core-python-base" \
        -c "LABEL org.opencontainers.image.description=\"Debian $suite minbase with python3 (debootstrap)\"" \
        - "$BASE" >/dev/null
    say "base $BASE built in $((SECONDS - started)) s: $(mb "$(docker image inspect -f '{{.Size}}' "$BASE")")"
}

python_minor() { "$@" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

make_context() {
    local py="${PYTHON:-}" cli="${OPERATOR_IMAGE_DOCKER_CLI:-}" want have
    [ -n "$py" ] || { [ -x "$ROOT/.venv/bin/python" ] && py="$ROOT/.venv/bin/python" || py=python3; }
    if ! "$py" -m pip --version >/dev/null 2>&1; then
        # A system python3 without pip (a fresh machine, before ./dev made .venv): a venv's.
        python3 -m venv "$ROOT/build/image-venv" || die "$py has no pip and python3 -m venv fails"
        py="$ROOT/build/image-venv/bin/python"
    fi
    want="$(docker run --rm --network none "$BASE" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    have="$(python_minor "$py")"
    [ "$want" = "$have" ] \
        || die "the base has Python $want but $py is $have: wheels would not fit; set PYTHON to a python$want"
    rm -rf "$CONTEXT"
    mkdir -p "$CONTEXT/wheels" "$CONTEXT/pip"
    say "wheels of operator-core and its dependencies (Python $have)"
    # (pip's notes about this machine's file:// indexes that lack a package are left out.)
    "$py" -m pip wheel -q --disable-pip-version-check -w "$CONTEXT/wheels" "$ROOT/packages/operator-core" \
        2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2) || die "pip wheel failed"
    "$py" -m pip wheel -q --disable-pip-version-check --no-deps -w "$CONTEXT/pip" pip \
        2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2) || die "pip wheel pip failed"
    [ -n "$cli" ] || cli="$(command -v docker)"
    cp "$(readlink -f "$cli")" "$CONTEXT/docker"
    say "docker CLI $("$CONTEXT/docker" version --format '{{.Client.Version}}' 2>/dev/null || echo '?') from $cli"
}

build_image() {
    local version started base_size size
    version="$("$ROOT/.venv/bin/python" -c 'import operator_core; print(operator_core.__version__)' 2>/dev/null \
        || sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/packages/operator-core/src/operator_core/__init__.py")"
    docker image rm -f "$IMAGE" >/dev/null 2>&1 || true
    started=$SECONDS
    # The classic builder: BuildKit would want its Dockerfile front end from a registry.
    # (Its notice that it is deprecated is left out.)
    DOCKER_BUILDKIT=0 docker build -q --no-cache --force-rm -f "$ROOT/Dockerfile" \
        --build-arg BASE="$BASE" --build-arg VERSION="$version" \
        --build-arg REVISION="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" \
        --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        -t "$IMAGE" "$CONTEXT" >/dev/null \
        2> >(grep -v -e 'legacy builder is deprecated' -e 'BuildKit is currently disabled' \
            -e 'environment-variable' -e '^$' >&2) \
        || die "docker build failed"
    # Intermediate images of the multi-stage build, left untagged by the classic builder.
    docker image prune -f --filter "label=org.operator-core.build-stage=1" >/dev/null 2>&1 || true
    base_size="$(docker image inspect -f '{{.Size}}' "$BASE")"
    size="$(docker image inspect -f '{{.Size}}' "$IMAGE")"
    say "image $IMAGE built in $((SECONDS - started)) s"
    echo "image $IMAGE: $(mb "$size"); layers above the base $BASE: $(mb $((size - base_size)))"
}

for arg in "$@"; do
    case "$arg" in
        --keep-base) KEEP_BASE=1 ;;
        *) die "usage: scripts/build-image.sh [--keep-base]" ;;
    esac
done
need_tools
if [ "$KEEP_BASE" = 1 ] && docker image inspect "$BASE" >/dev/null 2>&1; then
    say "keeping the base $BASE"
else
    build_base
fi
make_context
build_image
