"""A service process hands the memory it freed back to the operating system (`api.processes.memory`)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from api.processes import memory
from api.processes.memory import MemoryTrimmer, release_free_memory

FRAGMENTED = """
import json
from api.processes.memory import release_free_memory

def resident_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

# 80 MB in blocks above Python's small-object size (the C library's own), every 50th kept: what is freed lies
# between blocks still in use, where freeing alone hands nothing back
blocks = [bytes(2000) + bytes([n % 256]) for n in range(40_000)]
kept = blocks[::50]
del blocks
before = resident_mb()
trimmed = release_free_memory()
print(json.dumps({"before": before, "after": resident_mb(), "trimmed": trimmed, "kept": len(kept)}))
"""


@pytest.mark.skipif(memory._TRIM is None, reason="this C library has no malloc_trim")
def test_freed_memory_between_blocks_in_use_goes_back_to_the_system() -> None:
    run = subprocess.run([sys.executable, "-c", FRAGMENTED], capture_output=True, text=True, check=True)
    figures = json.loads(run.stdout)
    assert figures["trimmed"] is True
    assert figures["before"] > 70, figures  # the freed blocks were still held
    assert figures["after"] < figures["before"] - 50, figures


def test_without_malloc_trim_nothing_is_trimmed_and_nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_TRIM", None)
    assert release_free_memory() is False
    trimmer = MemoryTrimmer(interval=0.01)
    trimmer.start()
    assert not trimmer._background.running
    trimmer.stop()


def test_the_trimmer_trims_at_start_and_every_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(memory, "_TRIM", lambda pad: calls.append(pad) or 1)
    trimmer = MemoryTrimmer(interval=0.02)
    trimmer.start()
    try:
        deadline = time.monotonic() + 5
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        trimmer.stop()
    assert calls[:3] == [0, 0, 0]
    stopped_at = len(calls)
    time.sleep(0.1)
    assert len(calls) == stopped_at
