"""The desktop's SMS segment counter (``segments.js``) against the server's splitter (``smsdesk/sms/segments.py``)
on shared vectors: encoding, segment count and what is left in the last segment."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from smsdesk.sms.segments import choose_encoding, split_text

JS = Path(__file__).resolve().parents[2] / "smsdesk" / "web" / "static" / "js" / "segments.js"

VECTORS = [
    "Hello",
    "a" * 160,
    "a" * 161,
    "a" * 306,
    "a" * 307,
    "€" * 80,  # extension characters cost two septets: exactly 160
    "€" * 81,
    "a" * 152 + "€" + "b" * 10,  # the escape pair is not split across segments
    "é" * 160,  # é is in the GSM basic table
    "ü" * 70 + "ş",  # ş is not: UCS-2
    "x" * 70 + "—",
    "😀" * 35,  # 70 UTF-16 units: one SMS
    "😀" * 36,
    "a" * 66 + "😀" + "b" * 5,  # the surrogate pair is not split
    "Line one\nLine two {braces} [brackets] ~tilde~ |pipe| ^caret^ \\back",
    "Ωmega ΔΦΓΛ ¿¡ £$¥ § Ø Å Æ ß",
    "你好" * 40,
]


def expected(text: str) -> dict[str, object]:
    split = split_text(text, ref=1)
    enc = choose_encoding(text)
    per = enc.single_limit if len(split.segments) == 1 else enc.segment_limit
    last = split.segments[-1].text
    used = (
        len(last.encode("utf-16-be")) // 2
        if enc.name == "UCS2"
        else len(split_text(last, ref=1).segments[0].payload)
    )
    return {
        "encoding": "GSM-7" if enc.name == "GSM7" else "UCS-2",
        "segments": len(split.segments),
        "left": per - used,
    }


def test_the_js_counter_agrees_with_the_python_splitter(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is needed to run segments.js")
    script = tmp_path / "run.mjs"
    script.write_text(
        f"import {{countSegments}} from {json.dumps(JS.as_uri())};\n"
        f"const vectors = {json.dumps(VECTORS)};\n"
        "console.log(JSON.stringify(vectors.map((v) => { const c = countSegments(v);"
        " return {encoding: c.encoding, segments: c.segments, left: c.left}; })));\n",
        encoding="utf-8",
    )
    done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60, check=True)
    got = json.loads(done.stdout)
    assert got == [expected(v) for v in VECTORS]
