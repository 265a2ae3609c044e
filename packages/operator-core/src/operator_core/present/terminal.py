r"""What reaches a person's terminal: text from containers, engines and agents, made safe.

A container's name, a label, a log line, an agent's actor string or an MCP client's
``clientInfo.name`` can carry bytes a terminal obeys: ``ESC]0;...`` sets the window
title, ``ESC[2J`` clears the screen, ``CSI`` (0x9b) does the same in one byte, a
carriage return writes over what was shown, and Unicode bidirectional overrides make
text read in another order than it is stored (``\u202e``). Every console the command
line writes through is a ``SafeConsole`` (``operator_core.present.views.make_console``): what
it prints shows those characters as visible escapes (``\x1b``, ``\x9b``, ``\u202e``),
whatever command printed it and however (markup, ``Text``, tables, ``console.out``);
``operator mcp`` formats its log lines on stderr with ``SafeFormatter``.

What is shown visibly: C0 controls (0x00-0x1f) and DEL, C1 controls (0x80-0x9f), the
bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
U+202A-U+202E, U+2066-U+2069) and the line and paragraph separators (U+2028, U+2029).
A newline and a tab are kept in multi-line output (log lines, exec output: they are
the text's own layout and cannot hide anything); a single-line field (a name, a label,
a table cell) shows them as ``\n`` and ``\t`` (``safe_text(..., one_line=True)``).

``--json`` output is left to JSON: ``json.dumps`` writes every control character and
every non-ASCII character as a ``\u`` escape, so no raw byte of those reaches a pipe.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from rich.console import (
    Console,
    ConsoleOptions,
    HighlighterType,
    JustifyMethod,
    OverflowMethod,
    RenderableType,
)
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text

__all__ = ["UNSAFE", "SafeConsole", "SafeFormatter", "safe_rich_text", "safe_text"]

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_SEPARATORS = (0x2028, 0x2029)


def _escape(code: int) -> str:
    r"""Return the visible form of one character: ``\x1b`` below 0x100, else ``\u202e``."""
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_CONTROLS = (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))
#: Every character shown visibly in a single-line field.
_ONE_LINE: dict[int, str] = {code: _escape(code) for code in (*_CONTROLS, *_BIDI, *_SEPARATORS)}
_ONE_LINE.update({ord("\n"): "\\n", ord("\t"): "\\t", ord("\r"): "\\r"})
#: Multi-line text keeps its newlines and tabs.
_MULTI_LINE = {code: shown for code, shown in _ONE_LINE.items() if code not in (0x0A, 0x09)}
#: Finds a character either table changes.
UNSAFE = re.compile("[" + "".join(re.escape(chr(code)) for code in _ONE_LINE) + "]")


def safe_text(text: str, *, one_line: bool = False) -> str:
    """Return ``text`` with every character a terminal would obey shown as a visible escape.

    ``one_line`` also shows newlines and tabs (a field that must stay on its line).
    """
    if UNSAFE.search(text) is None:
        return text
    return text.translate(_ONE_LINE if one_line else _MULTI_LINE)


def safe_rich_text(text: Text, *, one_line: bool = False) -> Text:
    """Return a rich ``Text`` made safe as ``safe_text`` does, its styles kept on each part."""
    plain = text.plain
    if UNSAFE.search(plain) is None:
        return text
    cuts = sorted({at for match in UNSAFE.finditer(plain) for at in match.span()})
    result = text.blank_copy()
    for piece in text.divide(cuts):
        shown = safe_text(piece.plain, one_line=one_line)
        if shown != piece.plain:  # a single unsafe character, cut out on its own
            spans = [Span(0, len(shown), span.style) for span in piece.spans]
            piece = Text(shown, spans=spans)
        result.append_text(piece)
    return result


class SafeConsole(Console):
    """A rich console that never writes a character a terminal would obey as a command.

    Strings are made safe before markup is read (so widths are measured on what is shown),
    ``Text`` objects before they are laid out, and every rendered segment once more at
    the end, so a renderable built in any other way is covered too. Segments that are
    rich's own terminal controls (cursor moves for a spinner) are left as they are.
    """

    def render_str(
        self,
        text: str,
        *,
        style: str | Style = "",
        justify: JustifyMethod | None = None,
        overflow: OverflowMethod | None = None,
        emoji: bool | None = None,
        markup: bool | None = None,
        highlight: bool | None = None,
        highlighter: HighlighterType | None = None,
    ) -> Text:
        """Return ``text`` as rich Text, its unsafe characters shown visibly.

        The options are rich's own (``Console.render_str``), passed on as given.
        """
        return super().render_str(
            safe_text(text),
            style=style,
            justify=justify,
            overflow=overflow,
            emoji=emoji,
            markup=markup,
            highlight=highlight,
            highlighter=highlighter,
        )

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        """Render ``renderable``, every piece of text it yields made safe."""
        if isinstance(renderable, Text):
            renderable = safe_rich_text(renderable)
        for segment in super().render(renderable, options):
            if segment.control or UNSAFE.search(segment.text) is None:
                yield segment
            else:
                yield Segment(safe_text(segment.text), segment.style)


class SafeFormatter(logging.Formatter):
    """A logging formatter whose lines show control characters as escapes (for stderr).

    A served tool's log lines can quote what an agent sent (a tool name, an actor); on a
    terminal they go through ``safe_text`` as everything else printed does.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return the record formatted as usual, made safe (its newlines kept)."""
        return safe_text(super().format(record))
