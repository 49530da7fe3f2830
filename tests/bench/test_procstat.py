"""The process-tree reader against a real tree: a parent process and its child, which burns CPU and holds memory.

The tree is ``root -> child`` under this test (the test process itself is not part of it). Both hold ballast
written byte by byte (resident, not just reserved), then block on stdin, so their CPU and RSS stand still
while the test reads them once per process and once as a tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from smsdesk.bench.procstat import (
    ProcSampler,
    ProcUnavailable,
    TreeSampler,
    cpu_percent,
    parse_proc,
    per_process,
    tree_pids,
)

MB = 1024  # in kB

CHILD = """
import sys
ballast = b"c" * (40 << 20)
sum(i * i for i in range(2_000_000))  # a little CPU
print("ready", flush=True)
sys.stdin.read()
"""

ROOT = f"""
import subprocess, sys
ballast = b"r" * (20 << 20)
child = subprocess.Popen([sys.executable, "-c", {CHILD!r}], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
assert child.stdout.readline() == b"ready\\n"
print(child.pid, flush=True)
sys.stdin.readline()  # "reap": the child exits and this process waits for it
child.stdin.close()
child.wait()
print("reaped", flush=True)
sys.stdin.read()
"""


@dataclass
class Tree:
    root: subprocess.Popen[str]
    child_pid: int

    def say(self, line: str) -> str:
        assert self.root.stdin is not None and self.root.stdout is not None
        self.root.stdin.write(line + "\n")
        self.root.stdin.flush()
        return self.root.stdout.readline().strip()


@pytest.fixture
def tree() -> Iterator[Tree]:
    root = subprocess.Popen(
        [sys.executable, "-c", ROOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert root.stdout is not None
        yield Tree(root, int(root.stdout.readline()))
    finally:
        root.kill()
        root.wait()


def test_the_tree_sums_a_parent_and_its_child(tree: Tree) -> None:
    sampler = TreeSampler(tree.root.pid)
    sample = sampler.sample()
    assert [p.pid for p in sample.processes] == [tree.root.pid, tree.child_pid]
    assert sample.processes[1].ppid == tree.root.pid

    alone = {pid: ProcSampler(pid).sample() for pid in (tree.root.pid, tree.child_pid)}
    assert sample.cpu_s == pytest.approx(sum(s.cpu_s for s in alone.values()), abs=0.02)
    assert sample.rss_kb == pytest.approx(sum(s.rss_kb for s in alone.values()), abs=256)
    assert alone[tree.child_pid].cpu_s >= 0.05  # the child's burn is in the tree's CPU
    assert alone[tree.child_pid].rss_kb >= 40 * MB and alone[tree.root.pid].rss_kb >= 20 * MB
    assert sample.rss_kb >= 60 * MB and sample.peak_rss_kb == sample.rss_kb

    rows = per_process(sample, sample, sampler)
    assert [r["pid"] for r in rows] == [tree.root.pid, tree.child_pid]
    assert rows[1]["rss_mb"] >= 40 and rows[1]["peak_rss_mb"] >= rows[1]["rss_mb"]
    assert "-c" in rows[0]["cmd"]


def test_a_reaped_child_still_counts_and_its_memory_is_gone(tree: Tree) -> None:
    sampler = TreeSampler(tree.root.pid)
    before = sampler.sample()
    child_cpu = before.processes[1].cpu_s
    assert tree.say("reap") == "reaped"
    after = sampler.sample()
    assert [p.pid for p in after.processes] == [tree.root.pid]
    # the child's CPU moved into its parent's cutime + cstime: the tree's CPU does not go back
    assert after.processes[0].reaped_cpu_s >= child_cpu
    assert after.cpu_s >= before.cpu_s
    assert cpu_percent(before, after) >= 0
    assert after.rss_kb <= before.rss_kb - 30 * MB
    assert after.peak_rss_kb == before.rss_kb  # the peak of the sum is kept until reset_peak()
    sampler.reset_peak()
    assert sampler.sample().peak_rss_kb == after.rss_kb


def test_the_scan_of_proc_finds_the_same_tree(tree: Tree) -> None:
    assert tree_pids(tree.root.pid, scan=True) == tree_pids(tree.root.pid) == [tree.root.pid, tree.child_pid]


def test_a_process_born_between_samples_counts_from_zero(tree: Tree) -> None:
    sampler = TreeSampler(tree.root.pid)
    both = sampler.sample()
    root_only = type(both)(both.wall - 1.0, both.processes[:1], both.peak_rss_kb)
    rows = per_process(root_only, both)
    child = both.processes[1]
    assert rows[1]["cpu_percent"] == pytest.approx(100 * child.cpu_s, abs=0.1)
    assert rows[0]["cpu_percent"] == 0.0 and "cmd" not in rows[0]


def test_parse_proc_reads_times_and_a_zombie_without_memory() -> None:
    fields = ["S", "7", *["0"] * 9, "300", "100", "50", "50", *["0"] * 4, "12345", "0", "0"]
    stat = "42 (a (b) c) " + " ".join(fields)
    info = parse_proc(stat, "Name:\tx\nVmHWM:\t  900 kB\nVmRSS:\t  800 kB\n")
    ticks = 100 / os.sysconf("SC_CLK_TCK")
    assert (info.pid, info.ppid, info.start) == (42, 7, 12345)
    assert info.cpu_s == pytest.approx(4 * ticks) and info.reaped_cpu_s == pytest.approx(ticks)
    assert (info.rss_kb, info.peak_rss_kb) == (800, 900)
    zombie = parse_proc(stat.replace(" S ", " Z ", 1), "Name:\tx\nState:\tZ (zombie)\n")
    assert (zombie.rss_kb, zombie.peak_rss_kb) == (0, 0)
    with pytest.raises(ProcUnavailable):
        parse_proc("42 (x) S 1 2", "")
    with pytest.raises(ProcUnavailable):
        TreeSampler(2**22 + 12345).sample()
