"""The benchmark harness (issue 5): ``python -m smsdesk.bench`` or ``smsdesk bench``.

Modules: ``cli`` (commands), ``server`` (the ``smsdesk serve`` child and its users), ``contact_center``
(agents, supervisors, customers), ``fanout`` (smsdesk vs Faye), ``idle`` (memory per idle agent),
``bayeux`` and ``http`` (the load generator's clients), ``stats`` and ``procstat`` (the numbers: CPU and RSS
of the server's whole process tree), ``listeners`` (which of its processes serve the port).
How to run it: ``docs/performance.md``; the method and the measured rounds: ``docs/performance-history.md``.
"""

__all__: list[str] = []
