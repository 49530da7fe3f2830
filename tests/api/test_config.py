"""Settings: defaults < TOML file < environment < flags; provider settings from the file's [sms] table."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsdesk.config import ConfigError, load_settings, sms_environ
from smsdesk.sms.config import SmsSettings


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "smsdesk.toml"
    p.write_text(text)
    return p


def test_precedence_file_env_flags(tmp_path: Path) -> None:
    f = write(tmp_path, 'port = 9001\ndefault_queue = "sales"\n[sms]\nsimulator_enabled = false\n')
    assert load_settings(f, environ={}).port == 9001
    assert load_settings(f, environ={}).default_queue == "sales"
    assert load_settings(f, environ={"SMSDESK_PORT": "9002"}).port == 9002
    assert load_settings(f, environ={"SMSDESK_PORT": "9002"}, port=9003).port == 9003
    assert load_settings(None, environ={"SMSDESK_CONFIG": str(f)}).port == 9001


def test_sms_table_becomes_provider_settings(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        "[sms]\n"
        'twilio_account_sid = "AC123"\n'
        'twilio_auth_token = "secret"\n'
        'twilio_numbers = ["+15550000001"]\n'
        "simulator_enabled = true\n",
    )
    env = sms_environ(f, environ={"SMSDESK_TWILIO_AUTH_TOKEN": "from-env"})
    assert env["SMSDESK_TWILIO_ACCOUNT_SID"] == "AC123"
    assert env["SMSDESK_TWILIO_AUTH_TOKEN"] == "from-env"
    sms = SmsSettings.from_env(env)
    assert sms.twilio is not None and sms.twilio.account_sid == "AC123"
    assert sms.bindings()["+15550000001"] == "twilio"


@pytest.mark.parametrize("text", ["port = 'x'", "bogus_setting = 1", "port = [", "sms = 3"])
def test_bad_files_are_clear_errors(tmp_path: Path, text: str) -> None:
    f = write(tmp_path, text)
    with pytest.raises(ConfigError):
        load_settings(f, environ={})
        sms_environ(f, environ={})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "nope.toml", environ={})
