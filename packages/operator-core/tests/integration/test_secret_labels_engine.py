"""Pins issue 18 item 7 on the real engine: secret labels hidden, still matched by policy."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import clean_env, json_out, run_operator

from operator_core.testing import HANDLES_SIGTERM

SECRET = "s3cr3tPassw0rd"  # noqa: S105 (the secret the test hides)
HTPASSWD = "admin:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"
HIDDEN = "[REDACTED]"
LABELS = {"db_password": SECRET, "traefik.http.middlewares.a.basicauth.users": HTPASSWD}


def test_inspect_ps_and_the_trail_hide_secret_labels_the_policy_still_sees(
    containers, tmp_path: Path
):
    """Inspect and ps show [REDACTED]; a protected-label rule on the value still denies."""
    name = containers.run(*HANDLES_SIGTERM, labels=LABELS)
    policy = tmp_path / "policy.toml"
    policy.write_text(f'mode = "execute"\n[protected]\nlabels = ["db_password={SECRET}"]\n')
    env = clean_env(tmp_path, OPERATOR_POLICY=str(policy))
    inspected = run_operator(env, "docker", "inspect", name, "--json")
    listed = run_operator(env, "docker", "ps", "--name", name, "--json")
    restarted = run_operator(env, "--yes", "docker", "restart", name, "--json")
    trail = run_operator(env, "audit", "list", "--json")
    labels = json_out(inspected)["result"]["labels"]
    assert {key: labels[key] for key in LABELS} == dict.fromkeys(LABELS, HIDDEN)
    (listed_entry,) = json_out(listed)["result"]["containers"]
    assert listed_entry["labels"]["db_password"] == HIDDEN
    assert json_out(restarted)["error"]["rule"] == "protected.labels"
    for output in (inspected, listed, restarted, trail):
        assert SECRET not in output.stdout + output.stderr
        assert "H6uskkkW" not in output.stdout + output.stderr
    assert containers.client.container.inspect(name).config.labels["db_password"] == SECRET
