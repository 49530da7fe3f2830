from __future__ import annotations

import json

import pytest

from smsdesk.notify.queue import ClientQueue, QueueOverflow


def msg(i: int) -> dict[str, object]:
    return {"channel": "/v2/me", "data": {"n": i}}


def test_take_without_ack_empties_the_queue() -> None:
    q = ClientQueue(10)
    q.push(1, msg(1))
    q.push(2, msg(2))
    assert q.has_unsent
    assert q.take(keep=False) == [msg(1), msg(2)]
    assert len(q) == 0 and not q.has_unsent
    assert q.take(keep=False) == []


def test_duplicate_and_older_ids_are_ignored() -> None:
    q = ClientQueue(10)
    assert q.push(5, msg(5))
    assert not q.push(5, msg(5))
    assert not q.push(3, msg(3))
    assert q.take(keep=False) == [msg(5)]


def test_start_after_skips_events_before_the_client_existed() -> None:
    q = ClientQueue(10)
    q.start_after(10)
    assert not q.push(9, msg(9))
    assert q.push(11, msg(11))


def test_ack_prunes_and_batch_is_last_id_sent() -> None:
    q = ClientQueue(10)
    q.push(1, msg(1))
    q.push(2, msg(2))
    assert q.take(keep=True) == [msg(1), msg(2)]
    assert q.batch == 2 and len(q) == 2 and not q.has_unsent
    q.push(3, msg(3))
    q.ack(2)
    assert len(q) == 1
    assert q.take(keep=True) == [msg(3)]


def test_lower_ack_means_the_reply_was_lost_and_redelivers() -> None:
    q = ClientQueue(10)
    q.push(1, msg(1))
    q.take(keep=True)  # batch 1 delivered
    q.ack(1)
    q.push(2, msg(2))
    q.push(3, msg(3))
    assert q.take(keep=True) == [msg(2), msg(3)]  # batch 3 ... lost on the way
    q.ack(1)  # the client still only has batch 1
    assert q.has_unsent
    assert q.take(keep=True) == [msg(2), msg(3)]
    q.ack(3)
    assert len(q) == 0


def test_ack_beyond_what_was_sent_is_clamped() -> None:
    q = ClientQueue(10)
    q.push(1, msg(1))
    q.push(2, msg(2))
    q.ack(99)
    assert len(q) == 2
    assert q.take(keep=True) == [msg(1), msg(2)]
    q.ack(-5)
    assert q.take(keep=True) == [msg(1), msg(2)]


def test_bound_counts_unacknowledged_messages() -> None:
    q = ClientQueue(2)
    q.push(1, msg(1))
    q.push(2, msg(2))
    q.take(keep=True)
    with pytest.raises(QueueOverflow):
        q.push(3, msg(3))
    q.ack(2)
    assert q.push(3, msg(3))


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ClientQueue(0)


def test_take_encoded_hands_out_the_shared_bytes_and_encodes_the_rest() -> None:
    q = ClientQueue(10)
    shared = b'{"channel":"/v2/me","data":{"n":1}}'
    q.push(1, msg(1), shared)
    q.push(2, msg(2))
    first, second = q.take_encoded()
    assert first is shared and json.loads(second) == msg(2)
    assert len(q) == 0 and q.take_encoded() == []
