"""Carrier compliance keywords (pure). Policy: the whole message, case- and space-insensitive.

``STOP``, ``STOPALL``, ``UNSUBSCRIBE``, ``CANCEL``, ``END``, ``QUIT`` opt the sender out;
``START``, ``UNSTOP``, ``YES`` opt back in; ``HELP`` (and ``INFO``) ask for help. A keyword inside a
longer message ("please stop calling me") is *not* a keyword: it is ordinary text for the agent.
The inbound action (actions layer) decides what to do with the result.
"""

from __future__ import annotations

import enum
import unicodedata

__all__ = ["HELP_WORDS", "OPT_IN_WORDS", "OPT_OUT_WORDS", "Keyword", "classify"]


class Keyword(enum.Enum):
    OPT_OUT = "opt_out"  # stop sending to this number until it opts back in
    OPT_IN = "opt_in"  # resume sending
    HELP = "help"  # reply with help text


OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})

_TRAILING_PUNCTUATION = ".!"


def classify(text: str) -> Keyword | None:
    """Return the keyword the whole message is, or None for ordinary text.

    Spaces anywhere ("S T O P", " stop ") and trailing ``.``/``!`` are ignored; so is letter case.
    """
    normalized = unicodedata.normalize("NFKC", text)
    compact = "".join(normalized.split()).rstrip(_TRAILING_PUNCTUATION).upper()
    if compact in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if compact in OPT_IN_WORDS:
        return Keyword.OPT_IN
    if compact in HELP_WORDS:
        return Keyword.HELP
    return None
