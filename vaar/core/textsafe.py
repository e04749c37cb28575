"""Text from outside (a server's reason phrase, a file, a list) made safe for a terminal and a record.

A source server chooses the text of its error pages, yt-dlp quotes it, and vaar prints it, stores it
in the manifest's ``error`` column, the ledger and ``audit.csv``. Raw, that text can carry escape
sequences a terminal obeys: OSC 0/2 (set the window title), OSC 52 (write the curator's clipboard),
OSC 8 (a hyperlink under innocent text), CSI (move the cursor, erase lines, hide what follows).
:func:`strip_controls` removes every escape sequence (ESC + CSI/OSC/DCS/APC/PM/SOS strings, 7-bit or
their 8-bit C1 forms) and then every remaining C0 and C1 control character, DEL and the Unicode
bidirectional overrides (which reorder what the reader sees). :func:`one_line` also folds line
breaks, for messages that must stay on one line.
"""

from __future__ import annotations

import re

# ESC [ ... final byte | ESC ] ... (BEL | ESC \) | ESC P/X/^/_ ... ST | ESC + one byte; and the 8-bit C1 forms
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[\x20-\x3f]*[\x40-\x7e]?"  # CSI
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"  # other ESC sequences (and a lone ESC)
)
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile(r"[\t\n\r]+")


def strip_controls(text: str) -> str:
    """``text`` without escape sequences, C0/C1 controls (tab and line breaks kept), DEL or bidi overrides."""
    if not text:
        return text
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def one_line(text: str, limit: int = 300) -> str:
    """``text`` as :func:`strip_controls` makes it, on one line (breaks become spaces), at most ``limit`` chars."""
    return " ".join(_BREAKS.sub(" ", strip_controls(text)).split())[:limit]


def tool_message(msg: str, empty: str) -> str:
    """The first line of a tool's error (yt-dlp's ``ERROR: ...``), as text a terminal may show:
    control characters and escape sequences of the server's words stripped; ``empty`` if none."""
    msg = strip_controls(msg).replace("ERROR: ", "").strip()
    return one_line(msg.splitlines()[0]) if msg else empty
