"""Queues in the settings: ``[queues.NAME]`` in the TOML file, ``SMSDESK_QUEUES`` as JSON (docs/routing.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsdesk.config import ConfigError, QueueSettings, load_settings

BILLING = '{"billing": {"skills": {"billing": 3}, "priority": 5, "overflow_after_s": 120, "overflow_to": "default"}}'


def test_queues_from_the_environment_as_json() -> None:
    s = load_settings(environ={"SMSDESK_QUEUES": BILLING})
    assert s.queues == {
        "billing": QueueSettings(
            skills={"billing": 3}, priority=5, overflow_after_s=120, overflow_to="default"
        )
    }
    assert s.queue_names == {"billing", "default"}  # default always exists
    assert s.queue("default") == QueueSettings()  # ... and needs no skills
    assert s.queue("elsewhere") == QueueSettings()


def test_queues_from_the_toml_file(tmp_path: Path) -> None:
    f = tmp_path / "smsdesk.toml"
    f.write_text(
        'number_queues = {"+15550000001" = "spanish"}\n'
        "[queues.billing]\nskills = {billing = 3}\npriority = 5\n"
        'overflow_after_s = 120\noverflow_to = "spanish"\n'
        "[queues.spanish]\nskills = {spanish = 1}\n"
    )
    s = load_settings(f, environ={})
    assert s.queue("billing").overflow_to == "spanish" and s.queue("spanish").skills == {"spanish": 1}
    assert s.queue_names == {"billing", "spanish", "default"}


@pytest.mark.parametrize(
    ("queues", "problem"),
    [
        ('{"b": {"overflow_to": "nowhere", "overflow_after_s": 5}}', "overflow_to names no queue"),
        ('{"b": {"overflow_to": "b", "overflow_after_s": 5}}', "cannot overflow to itself"),
        ('{"b": {"overflow_after_s": 5}}', "set both overflow_after_s and overflow_to"),
        ('{"b": {"skills": {"x": -1}}}', "the level must be >= 0"),
        ('{"b": {"skils": {}}}', "Extra inputs are not permitted"),
        ('{"b": {"overflow_after_s": 0, "overflow_to": "default"}}', "greater than 0"),
        ("[1, 2", "queues must be a JSON object of queues"),
    ],
)
def test_bad_queues_are_clear_errors(queues: str, problem: str) -> None:
    with pytest.raises((ConfigError, ValueError), match=problem):
        load_settings(environ={"SMSDESK_QUEUES": queues})


def test_business_hours_global_and_per_queue(tmp_path: Path) -> None:
    f = tmp_path / "smsdesk.toml"
    f.write_text(
        'closed_reply = "We are closed; back {opens}."\n'
        '[hours]\ntz = "Europe/Paris"\nweekly = {mon = ["09:00-17:00"], tue = ["09:00-12:00", "14:00-17:00"]}\n'
        "holidays = [2026-12-25]\n"
        '[queues.night]\n[queues.night.hours]\ntz = "UTC"\nweekly = {sun = ["00:00-24:00"]}\n'
    )
    s = load_settings(f, environ={})
    assert s.closed_reply == "We are closed; back {opens}."
    default = s.hours_of("default")
    assert default is not None and default.weekly[1] == ((540, 720), (840, 1020)) and default.weekly[2] == ()
    night = s.hours_of("night")
    assert night is not None and night.weekly[6] == ((0, 1440),)
    assert load_settings(environ={}).hours_of("default") is None  # no hours: always open


@pytest.mark.parametrize(
    ("hours", "problem"),
    [
        ('{"tz": "Mars/Olympus"}', "unknown time zone"),
        ('{"weekly": {"monday": ["09:00-17:00"]}}', "is not a day"),
        ('{"weekly": {"mon": ["17:00-09:00"]}}', "must start before it ends"),
        ('{"holidays": ["25/12/2026"]}', "date"),
        ("{nope", "hours must be a JSON object"),
    ],
)
def test_bad_hours_are_clear_errors(hours: str, problem: str) -> None:
    with pytest.raises((ConfigError, ValueError), match=problem):
        load_settings(environ={"SMSDESK_HOURS": hours})
