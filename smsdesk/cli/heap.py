"""The garbage collector of a serving process, set once the app is built.

* ``gc.freeze()``: what exists then (modules, the app, its routes: about 130,000 objects) lives as long as
  the process; out of the collector's reach, a full collection walks only what serving creates. With 1,100
  clients connected that cut the full collections' pauses from 90-170 ms to 10-60 ms.
* Thresholds ``(50_000, 50, 50)`` instead of CPython's ``(700, 10, 10)``: nearly every object a request makes
  is freed by its reference count; the collector is there for cycles. Run every 700 allocations, the young
  pass caught the objects of the requests in flight and promoted them, so the older generations grew and
  were walked again and again: at 500 SMS/s, 1,800-2,000 young passes and 15-17 full collections per worker
  in 8 s. Measured back to back (docs/performance-history.md, "Sixth round"): CPU per session 3.8-3.9 -> 3.5 ms at
  500 SMS/s, and at 200 SMS/s the p99 latencies were no worse (offer 42.6-61.6 -> 28.6-46.2 ms). Cyclic
  garbage waits longer for its pass: at most 50,000 young objects, a few MB.
"""

from __future__ import annotations

import gc

__all__ = ["THRESHOLDS", "settle_heap"]

THRESHOLDS = (50_000, 50, 50)


def settle_heap() -> None:
    """Call once the app is built, before serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
