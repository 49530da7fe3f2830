from __future__ import annotations

import pytest

from smsdesk.sms.keywords import Keyword, classify


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", Keyword.OPT_OUT),
        ("stop", Keyword.OPT_OUT),
        ("  Stop  ", Keyword.OPT_OUT),
        ("S T O P", Keyword.OPT_OUT),
        ("stop.", Keyword.OPT_OUT),
        ("StopAll", Keyword.OPT_OUT),
        ("unsubscribe", Keyword.OPT_OUT),
        ("CANCEL", Keyword.OPT_OUT),
        ("end", Keyword.OPT_OUT),
        ("quit!", Keyword.OPT_OUT),
        ("\uff33\uff34\uff2f\uff30", Keyword.OPT_OUT),  # full-width STOP from some handsets
        ("START", Keyword.OPT_IN),
        ("unstop", Keyword.OPT_IN),
        ("Yes", Keyword.OPT_IN),
        ("help", Keyword.HELP),
        ("please stop texting me", None),
        ("stop it", None),
        ("STOPPED", None),
        ("", None),
        ("hello", None),
    ],
)
def test_whole_message_keywords(text: str, expected: Keyword | None) -> None:
    assert classify(text) is expected
