"""``smsdesk/limits.py``: the nesting bound and the JSON media type rule."""

from __future__ import annotations

import pytest

from smsdesk.limits import is_json_media_type, too_deep


def test_depth_counts_objects_and_arrays_without_recursion() -> None:
    assert not too_deep("x", 1) and not too_deep({}, 1) and too_deep({"a": []}, 1)
    deep: list[object] = []
    for _ in range(100_000):  # far beyond Python's recursion limit
        deep = [deep]
    assert too_deep(deep, 32)
    assert not too_deep({"a": [1, {"b": [2]}], "c": {}}, 4) and too_deep({"a": [1, {"b": [2]}]}, 3)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("application/json", True),
        (b"application/json; charset=UTF-8", True),
        ("APPLICATION/JSON", True),
        ("application/problem+json", True),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        ("text/json", False),
        ("", False),
        (None, False),
    ],
)
def test_the_json_media_types(value: str | bytes | None, ok: bool) -> None:
    assert is_json_media_type(value) is ok
