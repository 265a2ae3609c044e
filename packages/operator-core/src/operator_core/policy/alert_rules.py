"""The ``[alerts.NAME]`` sections of a policy: where ``operator watch`` sends its alerts.

One section per sink::

    [alerts.oncall]
    kind = "alertmanager"          # "webhook" (generic JSON), "alertmanager" or "slack"
    url = "http://alertmanager:9093"     # Alertmanager: /api/v2/alerts is added
    token_env = "AM_TOKEN"         # or token_file = "/run/secrets/am": Authorization: Bearer
    ca_file = "/etc/ssl/our-ca.pem"      # https: also trust this CA (PEM), besides the system's
    kinds = ["died", "unhealthy", "restart_loop", "escalated"]   # omitted: every kind
    updates = false                # true: also a loop's periodic summaries
    info = false                   # true: also what is not an alert (stopped, heal_started...)
    timeout_s = 5                  # one POST's bound
    retry_for_s = 600              # an alert not delivered by then is given up (counted)
    max_attempts = 20

A sink's URL (a Slack webhook's path is its credential) and its token are secrets: the URL
is held as a ``SecretStr``, never quoted in an error, and shown as ``scheme://host/…``
(``shown_url``) wherever a person or a log sees it.
"""

from __future__ import annotations

from typing import Literal, TypedDict
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from operator_core.policy._strict import Strict

__all__ = ["ALERT_KINDS", "AlertSink", "AlertSinkView", "SinkKind", "shown_url"]

SinkKind = Literal["webhook", "alertmanager", "slack"]

#: Every kind of watch item a sink's ``kinds`` may name: incidents, heal reports, notices.
ALERT_KINDS = (
    "died",
    "oom_killed",
    "unhealthy",
    "restart_loop",
    "stopped",
    "removed",
    "restarted",
    "restarted_by_operator",
    "engine_stopped",
    "heal_skipped",
    "heal_started",
    "healed",
    "heal_failed",
    "heal_denied",
    "escalated",
    "connected",
    "disconnected",
    "reconnected",
    "unresponsive",
    "responsive",
)


def shown_url(url: str) -> str:
    """Return ``url`` as it may be shown: scheme and host only, the path and query hidden."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if _port(url) is not None else ""
    return f"{parts.scheme}://{host}{port}/[REDACTED]"


def _port(url: str) -> int | None:
    """Return the URL's port, or None when it has none or a malformed one."""
    try:
        return urlsplit(url).port
    except ValueError:
        return None


class AlertSinkView(TypedDict):
    """An ``[alerts.NAME]`` section as it may be shown: the URL's path and the token hidden."""

    kind: SinkKind
    #: The URL's scheme and host only (``shown_url``).
    url: str
    #: Where the token comes from (``file PATH``, ``env $NAME``), None: no token.
    token: str | None
    ca_file: str | None
    kinds: list[str] | None
    updates: bool
    info: bool
    timeout_s: float
    retry_for_s: float
    max_attempts: int


class AlertSink(Strict):
    """One ``[alerts.NAME]`` section: a receiver of the watch's alerts.

    Built in code with a bad value it raises pydantic's ValidationError without the
    values given (``hide_input_in_errors``): one of them may be the URL.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, hide_input_in_errors=True)

    kind: SinkKind
    url: SecretStr
    token_file: str | None = None
    ca_file: str | None = None
    token_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    kinds: list[str] | None = None
    updates: bool = False
    info: bool = False
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    retry_for_s: float = Field(default=600.0, gt=0, le=86400)
    max_attempts: int = Field(default=20, ge=1, le=1000)
    resend_s: float = Field(default=60.0, ge=5, le=3600)

    @field_validator("url")
    @classmethod
    def _url(cls, url: SecretStr) -> SecretStr:
        """Refuse a URL no POST can go to; the message never quotes the URL (a secret)."""
        text = url.get_secret_value()
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the url must be http:// or https:// with a host (value hidden)")
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                "the url must not hold a user or password; give a token with token_file "
                "or token_env (value hidden)"
            )
        if _port(text) is None and ":" in parts.netloc.rsplit("]", 1)[-1]:
            raise ValueError("the url's port is not a number from 1 to 65535 (value hidden)")
        if any(ord(c) < 33 or ord(c) == 127 for c in text):
            raise ValueError("the url holds blanks or control characters (value hidden)")
        return url

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, kinds: list[str] | None) -> list[str] | None:
        """Refuse a kind the watch never reports (it would filter out everything, silently)."""
        unknown = [kind for kind in kinds or () if kind not in ALERT_KINDS]
        if unknown:
            raise ValueError(
                f"unknown kind(s) {', '.join(unknown)}; kinds: {', '.join(ALERT_KINDS)}"
            )
        if kinds is not None and not kinds:
            raise ValueError("an empty kinds list sends nothing; omit it to send every kind")
        return kinds

    @model_validator(mode="after")
    def _one_token(self) -> AlertSink:
        """Refuse both token_file and token_env (which one counts would be a guess)."""
        if self.token_file is not None and self.token_env is not None:
            raise ValueError("give token_file or token_env, not both")
        return self

    def wants(self, kind: str, status: str) -> bool:
        """Whether this sink is sent an alert of ``kind`` in ``status``."""
        if self.kinds is not None and kind not in self.kinds:
            return False
        if status == "update":
            return self.updates
        return status != "info" or self.info

    def describe(self) -> AlertSinkView:
        """Return the section as it may be shown (policy check): the URL's path hidden."""
        token = (
            f"file {self.token_file}"
            if self.token_file
            else f"env ${self.token_env}"
            if self.token_env
            else None
        )
        return {
            "kind": self.kind,
            "url": shown_url(self.url.get_secret_value()),
            "token": token,
            "ca_file": self.ca_file,
            "kinds": self.kinds,
            "updates": self.updates,
            "info": self.info,
            "timeout_s": self.timeout_s,
            "retry_for_s": self.retry_for_s,
            "max_attempts": self.max_attempts,
        }
