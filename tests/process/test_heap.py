"""The serving process's garbage collector settings (``smsdesk/cli/heap.py``), checked in a child process so
that this one's collector is left as it is."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import gc
from smsdesk.cli.heap import THRESHOLDS, settle_heap
assert gc.get_threshold() == (700, 10, 10)
settle_heap()
assert gc.get_threshold() == THRESHOLDS and THRESHOLDS[0] > 700
assert gc.get_freeze_count() > 1000 and gc.get_count()[2] == 0
print("ok")
"""


def test_settle_heap_freezes_the_startup_heap_and_sets_the_thresholds() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
