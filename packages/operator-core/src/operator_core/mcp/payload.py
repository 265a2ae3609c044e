"""Turn a runner envelope into an MCP tool result of bounded size, sent once.

Three rules, so that 12,000 lines of terminal colour codes cannot become a 26 MB
JSON-RPC message:

* control characters are dealt with once, here: ANSI escape sequences (colours, cursor
  moves, window titles) are removed whole, every other control character but tab and
  newline is dropped; ``delivery.control_characters_removed`` says how many;
* the serialised result is bounded in bytes (``MAX_RESULT_BYTES``, as JSON-RPC encodes
  it, escapes included): past it, long strings keep their head and tail and long lists
  (log lines) their newest items, cut harder until it fits; ``delivery.cut`` says so;
* the text is the envelope's JSON, compact (no indentation, no spaces after separators):
  the same JSON as ``structuredContent``, as the MCP specification recommends, nothing
  else repeated;
* a large envelope is sent once: up to ``BOTH_FORMS_MAX_BYTES`` it is both
  ``structuredContent`` and the JSON text (for clients that read either); above that
  only as JSON text, which every client reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import mcp_types as types

__all__ = ["BOTH_FORMS_MAX_BYTES", "MAX_RESULT_BYTES", "call_result", "clean_text"]

#: The most bytes a tool result's text may take once JSON-RPC has encoded it.
MAX_RESULT_BYTES = 1_000_000
#: Up to this size an envelope is sent as structuredContent and as text; above, text only.
BOTH_FORMS_MAX_BYTES = 65_536

_ANSI = re.compile(
    r"\x1b\[[0-?]*+[ -/]*+[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*+(?:\x07|\x1b\\)?+"  # OSC: window titles, links
    r"|\x1b[@-Z\\-_]"  # two-character escapes
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]++")
#: (longest string, longest list) tried in turn until the result fits.
_CUTS = ((65_536, 5_000), (16_384, 1_000), (4_096, 200), (1_024, 50), (256, 10), (64, 3))


def clean_text(text: str) -> str:
    """Return ``text`` without ANSI escape sequences or control characters (tab, newline stay)."""
    if text.isprintable():
        return text
    return _CONTROL.sub("", _ANSI.sub("", text))


def _walk(
    value: Any, on_str: Callable[[str], str], on_list: Callable[[list[Any]], list[Any]]
) -> Any:
    """Return ``value`` rebuilt with ``on_str`` applied to strings and ``on_list`` to lists."""
    if isinstance(value, str):
        return on_str(value)
    if isinstance(value, list):
        return on_list([_walk(item, on_str, on_list) for item in value])
    if isinstance(value, dict):
        return {on_str(key): _walk(item, on_str, on_list) for key, item in value.items()}
    return value


def _size(value: Any) -> int:
    """Return the bytes ``value``'s JSON text takes once encoded again as a JSON string."""
    return len(json.dumps(json.dumps(value, ensure_ascii=False), ensure_ascii=False).encode())


def _cut(value: Any, longest: int, most: int) -> Any:
    """Return ``value`` with strings cut to ``longest`` (head and tail) and lists to ``most``."""

    def cut_str(text: str) -> str:
        if len(text) <= longest:
            return text
        half = longest // 2
        return f"{text[:half]}...[{len(text) - 2 * half} characters cut]...{text[-half:]}"

    def cut_list(items: list[Any]) -> list[Any]:
        return items if len(items) <= most else items[-most:]

    return _walk(value, cut_str, cut_list)


def _bounded(envelope: dict[str, Any], limit: int) -> tuple[dict[str, Any], bool]:
    """Return ``envelope`` cut until it fits ``limit`` bytes, and whether anything was cut."""
    if _size(envelope) <= limit:
        return envelope, False
    for longest, most in _CUTS:
        cut = _cut(envelope, longest, most)
        if _size(cut) <= limit:
            return cut, True
    kept: dict[str, Any] = {key: envelope[key] for key in ("ok", "audit_id") if key in envelope}
    return {**kept, "result": None}, True


def call_result(envelope: dict[str, Any], *, limit: int = MAX_RESULT_BYTES) -> types.CallToolResult:
    """Return a runner envelope as a tool result: cleaned, bounded, isError if not ok."""
    # JSON-safe (datetimes, sets... become text); a non-finite number is a bug, raised.
    safe = json.loads(json.dumps(envelope, default=str, allow_nan=False))
    removed = 0

    def clean(text: str) -> str:
        nonlocal removed
        cleaned = clean_text(text)
        removed += len(text) - len(cleaned)
        return cleaned

    safe = _walk(safe, clean, lambda items: items)
    delivery: dict[str, Any] = {}
    if removed:
        delivery["control_characters_removed"] = removed
    safe, cut = _bounded(safe, limit - 200)  # room for the delivery note
    if cut:
        delivery["cut"] = (
            f"the result was cut to fit {limit} bytes: long texts keep their start and "
            "end, long lists their last items"
        )
    if delivery:
        safe["delivery"] = delivery
    # Compact: the text is for clients that read only text; every byte of it is paid for.
    text = json.dumps(safe, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    both = len(text.encode()) <= BOTH_FORMS_MAX_BYTES
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=safe if both else None,
        is_error=not envelope.get("ok", False),
    )
