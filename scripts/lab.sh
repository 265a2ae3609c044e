#!/usr/bin/env bash
# A lab of extra Docker engines on this machine, for fleet and swarm tests (run as root).
#
#   scripts/lab.sh up N      start engines eng1..engN (keeps those already up), print an inventory
#   scripts/lab.sh up N --swarm   the same, then make them one swarm: eng1 its manager, the
#                            others workers (a swarm already formed is kept)
#   scripts/lab.sh status    one line per engine; exit 0 when every engine answers, 3 when no lab
#   scripts/lab.sh inventory print the inventory TOML of the engines that are up
#   scripts/lab.sh down      stop every engine and remove every trace of the lab
#   scripts/lab.sh spare [N] [--tls]  start spare engine engN (N from 90 to 99, default 99; in
#                            no swarm and no inventory) and print its socket URL: for tests
#                            that restart, stop or flood an engine, so that no other test's
#                            engine goes away under it. Each such test file owns one spare
#                            number. --tls also gives it a TLS listener (see below) and prints
#                            its tcp:// URL on the line before the socket's.
#   scripts/lab.sh restart N stop engine N's dockerd (its containers stop) and start it again
#
# Each engine lives in a network namespace of its own (oplab-engN) with its own data root,
# exec root, pid file, log and unix socket (/run/operator-lab/engN/docker.sock). The engines'
# namespaces are wired by veth pairs to a bridge (oplab0) that lives in the lab's own namespace
# (oplab), on LAB_SUBNET (default 198.18.77.0/24, a benchmarking range): engN has .(10+N), so
# engines reach each other (swarm: 2377, 7946, 4789; a swarm must be told --advertise-addr) and
# nothing touches the host's network. Each engine has its own hostname (lab-engN) too.
# dockerd is started with `nsenter --net=...` (`ip netns exec` remounts /sys and hides the
# cgroups dockerd needs) and never with --bridge=none in the host's namespace.
#
# The last engine is reached over SSH: an sshd on 127.0.0.1:LAB_SSH_PORT (default 22722) lets
# the system user operator-lab (shell /bin/sh, no rc files; the engine's socket group) in and
# sets DOCKER_HOST to that engine's socket, so `ssh://operator-lab-engN` runs
# `docker system dial-stdio` against it. The client side is the file
# /etc/ssh/ssh_config.d/operator-lab.conf (the system ssh reads it; the docker CLI uses the
# system ssh): key, known hosts and ControlMaster/ControlPersist so that repeated calls reuse
# one connection. LAB_SSH=0 leaves SSH out.
#
# One engine is reached over TCP with TLS (LAB_TLS=0 leaves it out): `lab.sh up N` (N >= 3)
# gives eng2 a `tcp://ADDR:2376` listener with --tlsverify (the lab's own CA, made with
# openssl in $RUN/tls: ca.pem, and the client's cert.pem/key.pem; the server's certificate
# names 127.0.0.1, localhost, lab-engN and its lab address). The engine's namespace is not
# reachable from the host's, so a forwarder (socat, two processes: one in the engine's
# namespace serving $RUN/engN/tls.sock, one on 127.0.0.1:(23760+N) in the host's) carries
# the TLS stream unchanged: the client talks TLS with dockerd itself. The inventory lists
# eng2 by that tcp:// URL with tls = { ca, cert, key } (its socket is in its labels).
#
# A swarm's manager advertises eng1's lab address; the inventory labels each engine with its
# swarm role (swarm = "manager" / "worker"). Every node has the test image (there is no
# registry, so services must use it with --no-resolve-image).
#
# The engines share this machine's file system, so a swarm service that mounts
# /var/run/docker.sock would get the host's engine on every node. Each engine's socket is
# also reached by its node's hostname, $RUN/nodes/lab-engN/docker.sock (a link to engN), so a
# service can mount its own node's socket with Swarm's node template:
# source: /run/operator-lab/nodes/{{.Node.Hostname}}/docker.sock (deploy/stack.yaml's
# OPERATOR_DOCKER_SOCKET).
#
# Environment: LAB_SUBNET (a /24, given as A.B.C.0/24), LAB_SSH_PORT, LAB_SSH (1/0), LAB_TLS (1/0),
# OPERATOR_TEST_IMAGE (imported into every engine).
set -euo pipefail

RUN=/run/operator-lab
DATA=/var/lib/operator-lab
LABNS=oplab
BRIDGE=oplab0
SUBNET="${LAB_SUBNET:-198.18.77.0/24}"
PREFIX="${SUBNET%.0/24}"
SSH_PORT="${LAB_SSH_PORT:-22722}"
WANT_SSH="${LAB_SSH:-1}"
SSH_CLIENT_CONF=/etc/ssh/ssh_config.d/operator-lab.conf
SSH_USER=operator-lab
SSH_ENGINE=0
WANT_TLS="${LAB_TLS:-1}"
TLS_ENGINE=0
IMAGE="${OPERATOR_TEST_IMAGE:-operator-core/busybox:test}"
HERE="$(cd "$(dirname "$0")" && pwd)"

say() { printf 'lab: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
ns_of() { echo "oplab-eng$1"; }
sock_of() { echo "$RUN/eng$1/docker.sock"; }
addr_of() { echo "$PREFIX.$((10 + $1))"; }
tls_port_of() { echo "$((23760 + $1))"; }
dk() { local n=$1; shift; timeout 30 docker -H "unix://$(sock_of "$n")" "$@"; }
answers() { [ -S "$(sock_of "$1")" ] && timeout 10 docker -H "unix://$(sock_of "$1")" info >/dev/null 2>&1; }
engines_up() {
    local d
    for d in "$RUN"/eng*; do [ -d "$d" ] && echo "${d##*/eng}"; done | sort -n
}
dockerd_pid() {
    # The pid in the engine's pid file, only while it is that engine's dockerd.
    local pidfile="$RUN/eng$1/docker.pid" pid
    [ -f "$pidfile" ] || return 1
    pid="$(cat "$pidfile")"
    [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--exec-root $RUN/eng$1/exec" \
        && echo "$pid"
}

check_subnet() {
    # The lab's /24 must not overlap anything the host routes; a lab already up owns it.
    [[ "$SUBNET" =~ ^([0-9]{1,3}\.){3}0/24$ ]] || die "LAB_SUBNET must look like 198.18.77.0/24, not '$SUBNET'"
    ip netns list | grep -qw "$LABNS" && return 0
    python3 - "$SUBNET" <<'EOF' || die "LAB_SUBNET $SUBNET overlaps a route of this host; choose another /24"
import ipaddress, subprocess, sys
lab = ipaddress.ip_network(sys.argv[1])
routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
for line in routes.splitlines():
    dest = line.split()[0] if line.split()[0] not in ("local", "broadcast", "unicast") else line.split()[1]
    if dest == "default":
        continue
    if lab.overlaps(ipaddress.ip_network(dest, strict=False)):
        sys.exit(1)
EOF
}

lab_net() {
    # The lab's namespace with its bridge; created once.
    if ! ip netns list | grep -qw "$LABNS"; then
        ip netns add "$LABNS"
        ip -n "$LABNS" link set lo up
        ip -n "$LABNS" link add "$BRIDGE" type bridge
        ip -n "$LABNS" addr add "$PREFIX.1/24" dev "$BRIDGE"
        ip -n "$LABNS" link set "$BRIDGE" up
    fi
}

engine_net() {
    local n=$1 ns
    ns="$(ns_of "$n")"
    ip netns list | grep -qw "$ns" && return 0
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # The pair is made inside the lab's namespace and one end moved to the engine's: no
    # interface ever appears in the host's namespace.
    ip -n "$LABNS" link add "veth-eng$n" type veth peer name lab0 netns "$ns"
    ip -n "$LABNS" link set "veth-eng$n" master "$BRIDGE" up
    ip -n "$ns" addr add "$(addr_of "$n")/24" dev lab0
    ip -n "$ns" link set lab0 up
    # No default route: nothing outside the lab is reachable, so an image pull (a swarm task
    # tries one for a tag without digest) fails at once instead of waiting out a timeout.
}

start_engine() {
    local n=$1 run="$RUN/eng$1" data="$DATA/eng$1"
    mkdir -p "$run/exec" "$data/root"
    answers "$n" && return 0
    if pid="$(dockerd_pid "$n")"; then
        say "eng$n: dockerd $pid is running but does not answer yet"
        return 0
    fi
    rm -f "$run/docker.pid" "$run/docker.sock"
    # Its own config file, so that the host's /etc/docker/daemon.json is not read, naming a
    # key file of its own: an engine's ID (`docker info`) comes from that key, which defaults
    # to /etc/docker/key.json, so every lab engine would otherwise share the host's ID.
    printf '{"deprecated-key-path": "%s"}\n' "$data/key.json" >"$data/daemon.json"
    say "eng$n: starting dockerd in netns $(ns_of "$n") (log: $data/dockerd.log)"
    local group=() tls=()
    [ "$n" = "$SSH_ENGINE" ] && group=(--group "$SSH_USER")
    if [ "$n" = "$TLS_ENGINE" ]; then
        tls_certs "$n"
        tls=(--tlsverify --tlscacert "$RUN/tls/ca.pem" --tlscert "$run/tls/server-cert.pem"
            --tlskey "$run/tls/server-key.pem" --host "tcp://$(addr_of "$n"):2376")
        touch "$run/tls-engine"
    fi
    # A UTS namespace of its own too, so that each engine (a swarm node) has its own hostname.
    setsid nohup nsenter --net="/var/run/netns/$(ns_of "$n")" \
        unshare --uts -- sh -c 'hostname "$0" && exec "$@"' "lab-eng$n" dockerd "${group[@]}" "${tls[@]}" \
        --config-file "$data/daemon.json" \
        --data-root "$data/root" \
        --exec-root "$run/exec" \
        --pidfile "$run/docker.pid" \
        --host "unix://$run/docker.sock" \
        --containerd-namespace "operator-lab-eng$n" \
        --containerd-plugins-namespace "operator-lab-eng$n-plugins" \
        --cgroup-parent "/operator-lab-eng$n" \
        >"$data/dockerd.log" 2>&1 </dev/null &
}

wait_engine() {
    local n=$1
    for _ in $(seq 1 90); do
        answers "$n" && return 0
        sleep 1
    done
    say "eng$n did not answer within 90s; the end of its log:"
    tail -n 20 "$DATA/eng$n/dockerd.log" >&2 || true
    return 1
}

tls_certs() {
    # The lab's CA and client certificate (once), and engine n's server certificate.
    local n=$1 dir="$RUN/tls" own="$RUN/eng$1/tls"
    command -v openssl >/dev/null || apt_install openssl
    mkdir -p "$dir" "$own"
    chmod 755 "$dir"
    if [ ! -f "$dir/ca.pem" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=operator-lab CA" \
            -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=operator-lab client" \
            -keyout "$dir/key.pem" -out "$dir/client.csr" 2>/dev/null
        printf 'extendedKeyUsage = clientAuth\n' >"$dir/client.ext"
        openssl x509 -req -days 3650 -in "$dir/client.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
            -CAcreateserial -extfile "$dir/client.ext" -out "$dir/cert.pem" 2>/dev/null
        chmod 644 "$dir/key.pem"  # a test fixture's key, read by the tests as any user
    fi
    [ -f "$own/server-cert.pem" ] && return 0
    openssl req -newkey rsa:2048 -nodes -subj "/CN=lab-eng$n" \
        -keyout "$own/server-key.pem" -out "$own/server.csr" 2>/dev/null
    printf 'subjectAltName = IP:127.0.0.1,DNS:localhost,DNS:lab-eng%s,IP:%s\nextendedKeyUsage = serverAuth\n' \
        "$n" "$(addr_of "$n")" >"$own/server.ext"
    openssl x509 -req -days 3650 -in "$own/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
        -CAcreateserial -extfile "$own/server.ext" -out "$own/server-cert.pem" 2>/dev/null
}

tls_forward() {
    # 127.0.0.1:(23760+n) in the host's namespace -> engine n's TLS listener (see the top).
    local n=$1 run="$RUN/eng$1" port
    port="$(tls_port_of "$n")"
    command -v socat >/dev/null || apt_install socat
    if ! pgrep -f -- "UNIX-LISTEN:$run/tls.sock" >/dev/null; then
        rm -f "$run/tls.sock"
        setsid nohup nsenter --net="/var/run/netns/$(ns_of "$n")" \
            socat "UNIX-LISTEN:$run/tls.sock,fork,mode=600" "TCP:$(addr_of "$n"):2376" \
            >/dev/null 2>&1 </dev/null &
    fi
    if ! pgrep -f -- "TCP-LISTEN:$port,bind=127.0.0.1" >/dev/null; then
        setsid nohup socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" \
            "UNIX-CONNECT:$run/tls.sock" >/dev/null 2>&1 </dev/null &
    fi
    for _ in $(seq 1 50); do
        timeout 10 docker --tlsverify --tlscacert "$RUN/tls/ca.pem" --tlscert "$RUN/tls/cert.pem" \
            --tlskey "$RUN/tls/key.pem" -H "tcp://127.0.0.1:$port" version >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "eng$n's TLS listener does not answer on 127.0.0.1:$port"
}

node_links() {
    # $RUN/nodes/<the engine's hostname> -> $RUN/engN, for every engine up (see the top).
    local n
    mkdir -p "$RUN/nodes"
    for n in $(engines_up); do
        [ -L "$RUN/nodes/lab-eng$n" ] || ln -s "../eng$n" "$RUN/nodes/lab-eng$n"
    done
}

load_image() {
    local n=$1
    dk "$n" image inspect "$IMAGE" >/dev/null 2>&1 && return 0
    docker save "$IMAGE" | timeout 120 docker -H "unix://$(sock_of "$n")" load >/dev/null
    say "eng$n: loaded $IMAGE"
}

apt_install() {
    # Without a policy-rc.d, installing a daemon's package would start it on the host.
    local made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; } || {
        [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
        die "could not install $*"
    }
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    return 0
}

ssh_user() {
    # The lab's SSH login: a system user whose shell reads no rc file, in the socket's group.
    id "$SSH_USER" >/dev/null 2>&1 && return 0
    # "*": no password, but not a locked account (sshd without PAM refuses locked ones).
    useradd --system --no-create-home --home-dir /nonexistent --shell /bin/sh --password "*" "$SSH_USER"
}

start_ssh() {
    # sshd on loopback whose sessions talk to engine n; a client config with connection reuse.
    local n=$1 dir="$RUN/ssh"
    [ -x /usr/sbin/sshd ] || apt_install openssh-server
    mkdir -p "$dir" /run/sshd
    chmod 755 "$dir"
    [ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
    [ -f "$dir/client_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
    cp "$dir/client_key.pub" "$dir/authorized_keys"
    echo "[127.0.0.1]:$SSH_PORT $(cat "$dir/host_key.pub")" >"$dir/known_hosts"
    cat >"$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1:$SSH_PORT
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
AllowUsers $SSH_USER
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 100
MaxStartups 100:30:200
SetEnv DOCKER_HOST=unix://$(sock_of "$n")
EOF
    cat >"$SSH_CLIENT_CONF" <<EOF
# Written by operator-core's scripts/lab.sh; removed by \`scripts/lab.sh down\`.
Host operator-lab-eng$n
    HostName 127.0.0.1
    Port $SSH_PORT
    User $SSH_USER
    IdentityFile $dir/client_key
    IdentitiesOnly yes
    UserKnownHostsFile $dir/known_hosts
    StrictHostKeyChecking yes
    BatchMode yes
    ControlMaster auto
    ControlPath $dir/cm-%C
    ControlPersist 10m
EOF
    echo "$n" >"$dir/engine"
    if [ -f "$dir/sshd.pid" ] && kill -0 "$(cat "$dir/sshd.pid")" 2>/dev/null; then
        return 0
    fi
    /usr/sbin/sshd -f "$dir/sshd_config" -E "$DATA/sshd.log"
    for _ in $(seq 1 50); do
        timeout 10 ssh "operator-lab-eng$n" true 2>/dev/null && return 0
        sleep 0.2
    done
    die "sshd on 127.0.0.1:$SSH_PORT does not let us in; see $DATA/sshd.log"
}

swarm_state() {
    # "<LocalNodeState> <ControlAvailable> <NodeID>" of engine n.
    dk "$1" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeID}}'
}

swarm_up() {
    # eng1 becomes the manager (advertising its lab address), eng2..engN join as workers.
    local count=$1 n state token members
    state="$(swarm_state 1)"
    case "$state" in
        "active true "*) ;;
        "inactive "*)
            dk 1 swarm init --advertise-addr "$(addr_of 1)" --listen-addr "$(addr_of 1):2377" >/dev/null
            say "eng1: swarm manager at $(addr_of 1):2377" ;;
        *) die "eng1 is in a swarm but not as its manager ($state); 'lab.sh down' first" ;;
    esac
    token="$(dk 1 swarm join-token -q worker)"
    members="$(dk 1 node ls -q)"
    for n in $(seq 2 "$count"); do
        state="$(swarm_state "$n")"
        case "$state" in
            "inactive "*)
                dk "$n" swarm join --token "$token" --advertise-addr "$(addr_of "$n")" \
                    --listen-addr "$(addr_of "$n"):2377" "$(addr_of 1):2377" >/dev/null
                say "eng$n: joined the swarm as a worker" ;;
            *)
                grep -qx "${state##* }" <<<"$members" \
                    || die "eng$n is in another swarm ($state); 'lab.sh down' first" ;;
        esac
    done
    for _ in $(seq 1 120); do
        [ "$(dk 1 node ls --format '{{.Status}}' | grep -c '^Ready$')" -ge "$count" ] && break
        sleep 0.5
    done
    [ "$(dk 1 node ls --format '{{.Status}}' | grep -c '^Ready$')" -ge "$count" ] \
        || die "the swarm has fewer than $count ready nodes: $(dk 1 node ls)"
    seq 1 "$count" | tr '\n' ' ' >"$RUN/swarm"  # the engines in the swarm
}

swarm_role() {
    # The swarm role of engine n when it is in the lab's swarm (manager, worker), else nothing.
    [ -f "$RUN/swarm" ] && grep -qw "$1" "$RUN/swarm" || return 0
    if [ "$1" = 1 ]; then echo manager; else echo worker; fi
}

inventory() {
    # The SSH engine is listed by its ssh:// URL only (listing it twice would show its
    # containers twice); its local socket is in its labels, for comparisons.
    local n ssh_engine="" role
    [ -f "$RUN/ssh/engine" ] && ssh_engine="$(cat "$RUN/ssh/engine")"
    echo "# operator-core lab inventory (scripts/lab.sh); engines in their own network namespaces"
    echo "default = \"eng1\""
    for n in $(engines_up); do
        [ -f "$RUN/eng$n/spare" ] && continue
        echo
        echo "[hosts.eng$n]"
        role="$(swarm_role "$n")"
        if [ -f "$RUN/eng$n/tls-engine" ]; then
            echo "url = \"tcp://127.0.0.1:$(tls_port_of "$n")\""
            echo "tls = { ca = \"$RUN/tls/ca.pem\", cert = \"$RUN/tls/cert.pem\", key = \"$RUN/tls/key.pem\" }"
            echo "labels = { lab = \"operator-lab\", addr = \"$(addr_of "$n")\", via = \"tls\"," \
                "socket = \"unix://$(sock_of "$n")\"${role:+, swarm = \"$role\"} }"
        elif [ "$n" = "$ssh_engine" ]; then
            echo "url = \"ssh://operator-lab-eng$n\""
            echo "labels = { lab = \"operator-lab\", addr = \"$(addr_of "$n")\", via = \"ssh\"," \
                "socket = \"unix://$(sock_of "$n")\"${role:+, swarm = \"$role\"} }"
        else
            echo "url = \"unix://$(sock_of "$n")\""
            echo "labels = { lab = \"operator-lab\", addr = \"$(addr_of "$n")\"," \
                "via = \"socket\"${role:+, swarm = \"$role\"} }"
        fi
    done
}

cmd_up() {
    local count="${1:-}" swarm="${2:-}"
    [[ "$count" =~ ^[1-9][0-9]?$ ]] || die "usage: lab.sh up N [--swarm] (N engines, 1..99)"
    [ -z "$swarm" ] || [ "$swarm" = --swarm ] || die "usage: lab.sh up N [--swarm]; not '$swarm'"
    [ "$(id -u)" = 0 ] || die "the lab needs root"
    command -v dockerd >/dev/null || die "dockerd is not installed; run scripts/setup-engine.sh first"
    # A minimal machine may lack the network and process tools the lab uses.
    command -v ip >/dev/null || apt_install iproute2
    command -v pgrep >/dev/null || apt_install procps
    timeout 10 docker image inspect "$IMAGE" >/dev/null 2>&1 || bash "$HERE/setup-engine.sh" >&2
    check_subnet
    mkdir -p "$RUN" "$DATA"
    echo "$SUBNET" >"$RUN/subnet"
    lab_net
    local n
    [ "$WANT_SSH" = 1 ] && { SSH_ENGINE="$count"; ssh_user; }
    # TLS on eng2 when there is an eng2 that is not the SSH engine.
    [ "$WANT_TLS" = 1 ] && [ "$count" -ge 2 ] && [ "$SSH_ENGINE" != 2 ] && TLS_ENGINE=2
    for n in $(seq 1 "$count"); do
        engine_net "$n"
        start_engine "$n"
    done
    for n in $(seq 1 "$count"); do
        wait_engine "$n" || die "eng$n failed to start; 'lab.sh down' cleans up"
        load_image "$n"
    done
    node_links
    [ "$TLS_ENGINE" != 0 ] && tls_forward "$TLS_ENGINE"
    [ "$WANT_SSH" = 1 ] && start_ssh "$count"
    [ -n "$swarm" ] && swarm_up "$count"
    inventory | tee "$RUN/inventory.toml"
    say "inventory written to $RUN/inventory.toml"
}

cmd_status() {
    local n any=0 bad=0 pid
    for n in $(engines_up); do
        any=1
        if answers "$n"; then
            printf 'eng%s  up    %s  netns %s  addr %s  engine %s  containers %s\n' "$n" "$(sock_of "$n")" \
                "$(ns_of "$n")" "$(addr_of "$n")" "$(dk "$n" version --format '{{.Server.Version}}')" \
                "$(dk "$n" ps -aq | wc -l)"
        else
            pid="$(dockerd_pid "$n" || echo none)"
            printf 'eng%s  DOWN  %s  (dockerd pid: %s; log %s)\n' "$n" "$(sock_of "$n")" "$pid" \
                "$DATA/eng$n/dockerd.log"
            bad=1
        fi
    done
    if [ -f "$RUN/ssh/sshd.pid" ] && kill -0 "$(cat "$RUN/ssh/sshd.pid")" 2>/dev/null; then
        echo "ssh   up    ssh://operator-lab-eng$(cat "$RUN/ssh/engine") (127.0.0.1:$SSH_PORT)"
    elif [ -d "$RUN/ssh" ]; then
        echo "ssh   DOWN"
        bad=1
    fi
    [ "$any" = 1 ] || { echo "no lab is up"; return 3; }
    if [ -f "$RUN/swarm" ]; then
        echo "swarm manager eng1: $(dk 1 node ls --format '{{.Hostname}} {{.Status}}' | sort | tr '\n' ' ')"
    fi
    return "$bad"
}

kill_and_wait() {
    # TERM, then KILL after $2 seconds.
    local pid=$1 grace=$2
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 $((grace * 5))); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
}

stop_engine() {
    local n=$1 pid cg
    if answers "$n"; then
        # Its containers die first, so that dockerd's own shutdown is quick.
        dk "$n" ps -q | xargs -r timeout 30 docker -H "unix://$(sock_of "$n")" kill >/dev/null 2>&1 || true
    fi
    if pid="$(dockerd_pid "$n")"; then
        kill_and_wait "$pid" 30
    fi
    # Leftovers: its containerd, shims and any container process still in its cgroups.
    for pid in $(pgrep -f -- "operator-lab-eng$n([^0-9]|$)|$RUN/eng$n/|$DATA/eng$n/" || true); do
        kill -KILL "$pid" 2>/dev/null || true
    done
    for cg in /sys/fs/cgroup/*/operator-lab-eng"$n"; do
        [ -d "$cg" ] || continue
        find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    done
}

remove_cgroups() {
    local cg
    for cg in /sys/fs/cgroup/*/operator-lab-eng*; do
        [ -d "$cg" ] || continue
        for _ in 1 2 3 4 5; do
            find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
            [ -d "$cg" ] || break
            sleep 0.5
        done
        [ -d "$cg" ] && say "could not remove cgroup $cg"
    done
    return 0
}

unmount_under() {
    # Every mount below the lab's directories, deepest first.
    local dir mnt
    for dir in "$@"; do
        { awk '{print $5}' /proc/self/mountinfo | grep -E "^$dir(/|$)" || true; } | sort -r | while read -r mnt; do
            umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || say "could not unmount $mnt"
        done
    done
}

stop_ssh() {
    local dir="$RUN/ssh" sock
    for sock in "$dir"/cm-*; do
        [ -S "$sock" ] && ssh -o ControlPath="$sock" -O exit operator-lab >/dev/null 2>&1 || true
    done
    if [ -f "$dir/sshd.pid" ]; then
        kill_and_wait "$(cat "$dir/sshd.pid")" 5
    fi
    # Sessions sshd forked for clients (their own processes) and lingering masters.
    for pid in $(pgrep -f -- "$dir/|operator-lab-eng[0-9]+ docker system dial-stdio" || true); do
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -f "$SSH_CLIENT_CONF"
    if id "$SSH_USER" >/dev/null 2>&1; then
        pkill -KILL -u "$SSH_USER" 2>/dev/null || true
        userdel "$SSH_USER" 2>/dev/null || say "could not remove the user $SSH_USER"
    fi
    return 0
}

cmd_down() {
    [ "$(id -u)" = 0 ] || die "the lab needs root"
    local n ns
    stop_ssh
    for n in $(engines_up); do stop_engine "$n"; done
    # Engines whose run dir is gone but whose processes are not.
    for pid in $(pgrep -f -- "--exec-root $RUN/|$DATA/" || true); do kill -KILL "$pid" 2>/dev/null || true; done
    unmount_under "$RUN" "$DATA"
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^($LABNS|oplab-eng[0-9]+)$" || true); do
        ip netns del "$ns"
    done
    remove_cgroups
    rm -rf "$RUN" "$DATA"
    say "down: no engine, namespace, mount or directory of the lab is left"
}

cmd_spare() {
    local SPARE="${1:-99}" with_tls="${2:-}"
    [[ "$SPARE" =~ ^9[0-9]$ ]] || die "usage: lab.sh spare [N] [--tls] (N from 90 to 99)"
    [ -z "$with_tls" ] || [ "$with_tls" = --tls ] || die "usage: lab.sh spare [N] [--tls]; not '$with_tls'"
    [ -n "$with_tls" ] && TLS_ENGINE="$SPARE"
    [ "$(id -u)" = 0 ] || die "the lab needs root"
    command -v dockerd >/dev/null || die "dockerd is not installed; run scripts/setup-engine.sh first"
    timeout 10 docker image inspect "$IMAGE" >/dev/null 2>&1 || bash "$HERE/setup-engine.sh" >&2
    check_subnet
    mkdir -p "$RUN/eng$SPARE" "$DATA"
    [ -f "$RUN/subnet" ] || echo "$SUBNET" >"$RUN/subnet"
    touch "$RUN/eng$SPARE/spare"
    lab_net
    engine_net "$SPARE"
    start_engine "$SPARE"
    wait_engine "$SPARE" || die "eng$SPARE failed to start; 'lab.sh down' cleans up"
    load_image "$SPARE"
    if [ -n "$with_tls" ]; then
        [ -f "$RUN/eng$SPARE/tls-engine" ] || die "eng$SPARE runs without TLS; it was started without --tls"
        tls_forward "$SPARE"
        echo "tcp://127.0.0.1:$(tls_port_of "$SPARE")"
    fi
    echo "unix://$(sock_of "$SPARE")"
}

cmd_restart() {
    local n="${1:-}" pid
    [[ "$n" =~ ^[0-9]+$ ]] && [ -d "$RUN/eng$n" ] || die "usage: lab.sh restart N (an engine of the lab)"
    [ "$(id -u)" = 0 ] || die "the lab needs root"
    if pid="$(dockerd_pid "$n")"; then kill_and_wait "$pid" 30; fi
    start_engine "$n"
    wait_engine "$n" || die "eng$n did not come back"
    say "eng$n: restarted"
}

case "${1:-}" in
    up) shift; cmd_up "$@" ;;
    spare) shift; cmd_spare "$@" ;;
    restart) shift; cmd_restart "$@" ;;
    status) cmd_status ;;
    inventory) inventory ;;
    down) cmd_down ;;
    *) echo "usage: scripts/lab.sh up N [--swarm] | status | inventory | spare [N] [--tls] | restart N | down" >&2; exit 2 ;;
esac
