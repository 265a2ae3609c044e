"""The operator's own container: found by evidence a shared network cannot fake.

The mountinfo and cgroup lines below are shortened from a container run with
``--network container:A`` on a cgroup v1 engine: its /etc/hostname, hosts and
resolv.conf (and hostname) are A's, while its cgroup is its own (B).
"""

from __future__ import annotations

from operator_core.policy import Guard, Policy, TargetFacts
from operator_core.policy.self_container import own_container_ids

A = "b6f697a6aef93c225fd19ae4dd954347577ab416987fe97861c12aa21b4b0dd6"
B = "cbb05bd355b2a6042821184c2df8c240394d6f2d2981e1eb82b82ed60a2f4dd8"


def _mountinfo(network_owner: str, cgroup_owner: str | None) -> str:
    """Return mountinfo with the network files of ``network_owner`` and cgroup mount roots."""
    lines = [
        "125 68 0:50 / / rw,relatime master:11 - overlay overlay rw,upperdir=/x/diff",
        "130 129 0:56 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw,mode=755",
    ]
    if cgroup_owner:
        lines.append(
            f"134 130 0:32 /docker/{cgroup_owner} /sys/fs/cgroup/memory ro - cgroup cgroup rw"
        )
    for name in ("resolv.conf", "hostname", "hosts"):
        lines.append(
            f"14{len(lines)} 125 254:0 /var/lib/docker/containers/{network_owner}/{name} "
            f"/etc/{name} rw,relatime - ext4 /dev/vda rw"
        )
    return "\n".join(lines) + "\n"


def test_a_shared_network_gives_both_candidates():
    """Network files and hostname say A, the cgroup says B: both are protected."""
    found = own_container_ids(
        f"4:memory:/docker/{B}\n0::/docker/{B}\n", _mountinfo(A, B), True, A[:12]
    )
    assert found == {A, B}


def test_agreeing_evidence_gives_one_id():
    """Our own network files, cgroup and hostname: one id (the short id folds into it)."""
    assert own_container_ids(f"0::/docker/{B}\n", _mountinfo(B, B), True, B[:12]) == {B}


def test_the_cgroup_mount_roots_count_when_proc_self_cgroup_says_nothing():
    """A cgroup namespace hides /proc/self/cgroup ('0::/'); mount roots still name B."""
    assert own_container_ids("0::/\n", _mountinfo(A, B), True, A[:12]) == {A, B}


def test_a_hostname_that_is_no_short_id_adds_nothing():
    """--hostname db: the hostname is no evidence; the files still name their owner."""
    assert own_container_ids("0::/\n", _mountinfo(A, None), True, "db") == {A}


def test_a_different_short_id_is_one_more_candidate():
    """A hostname short id that begins no id found is kept as a candidate of its own."""
    found = own_container_ids(f"0::/docker/{B}\n", _mountinfo(B, B), True, "0123456789ab")
    assert found == {B, "0123456789ab"}


def test_the_guard_protects_every_candidate():
    """Given several own ids, the guard refuses each as protected.self, and no other."""
    guard = Guard(Policy(mode="execute"), own_container_id={A, B})
    for cid in (A, B):
        verdict = guard.check_target(TargetFacts.of("container", cid, cid[:4]))
        assert verdict is not None
        assert verdict.rule == "protected.self"
    assert guard.check_target(TargetFacts.of("container", "c" * 64, "web")) is None
    lifted = Guard(Policy(mode="execute", protect_self=False), own_container_id={A, B})
    assert lifted.check_target(TargetFacts.of("container", A, "a")) is None
