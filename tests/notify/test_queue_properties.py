"""Property: with the ack extension, a client that loses any number of connect replies still receives every
event exactly once, in order, once it gets a reply through; and the queue never holds more than it must."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smsdesk.notify.queue import ClientQueue

Step = tuple[str, bool]  # ("push", _) or ("connect", reply_lost)
steps = st.lists(st.tuples(st.sampled_from(["push", "connect"]), st.booleans()), max_size=60)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_ack_never_loses_or_reorders_events(plan: list[Step]) -> None:
    queue = ClientQueue(max_size=1000)
    pushed: list[int] = []
    received: list[int] = []
    client_batch = 0
    for action, lost in [*plan, ("connect", False), ("connect", False)]:
        if action == "push":
            pushed.append(len(pushed) + 1)
            queue.push(pushed[-1], {"n": pushed[-1]})
            continue
        queue.ack(client_batch)
        messages = queue.take(keep=True)
        if not lost:
            received.extend(int(m["n"]) for m in messages)
            client_batch = queue.batch
    assert received == pushed  # every event, in order, and never twice (lost replies were never seen)
    queue.ack(client_batch)
    assert len(queue) == 0
