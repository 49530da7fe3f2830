from __future__ import annotations

import pytest

from smsdesk.sms.config import ConfigError, SimulatorSettings, SmppSettings, SmsSettings, TwilioSettings

FULL = {
    "SMSDESK_SIMULATOR_ENABLED": "1",
    "SMSDESK_SIMULATOR_NUMBERS": "+15550000000",
    "SMSDESK_TWILIO_ACCOUNT_SID": "AC123",
    "SMSDESK_TWILIO_AUTH_TOKEN": "tok",
    "SMSDESK_TWILIO_API_BASE": "http://127.0.0.1:9/",
    "SMSDESK_TWILIO_PUBLIC_URL": "https://desk.example.com/",
    "SMSDESK_TWILIO_NUMBERS": "+1 555 000 0001, +15550000002",
    "SMSDESK_SMPP_HOST": "smsc.example.net",
    "SMSDESK_SMPP_PORT": "2776",
    "SMSDESK_SMPP_SYSTEM_ID": "esme1",
    "SMSDESK_SMPP_PASSWORD": "secret",
    "SMSDESK_SMPP_SYSTEM_TYPE": "desk",
    "SMSDESK_SMPP_NUMBERS": "+447700900123",
    "SMSDESK_SMS_DEFAULT_PROVIDER": "simulator",
}


def test_full_environment() -> None:
    s = SmsSettings.from_env(FULL)
    assert s.twilio is not None and s.smpp is not None
    assert s.twilio.api_base == "http://127.0.0.1:9"
    assert s.twilio.public_url == "https://desk.example.com"
    assert s.twilio.numbers == ("+15550000001", "+15550000002")
    assert s.smpp.port == 2776 and s.smpp.source_ton == 1
    assert "tok" not in repr(s.twilio) and "secret" not in repr(s.smpp)
    assert s.bindings() == {
        "+15550000000": "simulator",
        "+15550000001": "twilio",
        "+15550000002": "twilio",
        "+447700900123": "smpp",
    }


def test_empty_environment_is_no_provider_in_serve_and_the_open_simulator_in_the_demo() -> None:
    assert SmsSettings.from_env({}) == SmsSettings(SimulatorSettings(False, ()), None, None, None)
    demo = SmsSettings.from_env({}, demo=True)
    assert demo == SmsSettings(SimulatorSettings(True, (), public=True), None, None, None)


def test_the_simulator_switched_on_in_serve_is_not_public() -> None:
    s = SmsSettings.from_env({"SMSDESK_SIMULATOR_ENABLED": "1"})
    assert s.simulator.enabled and not s.simulator.public


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SMSDESK_TWILIO_ACCOUNT_SID": "AC1"}, "SMSDESK_TWILIO_AUTH_TOKEN"),
        ({**FULL, "SMSDESK_TWILIO_API_BASE": "ftp://x"}, "SMSDESK_TWILIO_API_BASE"),
        ({**FULL, "SMSDESK_SMPP_PORT": "http"}, "SMSDESK_SMPP_PORT"),
        ({**FULL, "SMSDESK_SMPP_PORT": "70000"}, "SMSDESK_SMPP_PORT"),
        ({**FULL, "SMSDESK_SMPP_PASSWORD": "muchtoolong"}, "SMSDESK_SMPP_PASSWORD"),
        ({"SMSDESK_SMPP_HOST": "h"}, "SMSDESK_SMPP_SYSTEM_ID"),
        ({**FULL, "SMSDESK_SMPP_SUBMIT_TIMEOUT": "-1"}, "SMSDESK_SMPP_SUBMIT_TIMEOUT"),
        ({**FULL, "SMSDESK_SMPP_ENQUIRE_LINK": "soon"}, "SMSDESK_SMPP_ENQUIRE_LINK"),
        ({**FULL, "SMSDESK_TWILIO_NUMBERS": "+1555"}, "+1555"),
        ({"SMSDESK_SIMULATOR_ENABLED": "maybe"}, "SMSDESK_SIMULATOR_ENABLED"),
        ({"SMSDESK_SMS_DEFAULT_PROVIDER": "twilio"}, "not an active provider"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("+", r"\+")):
        SmsSettings.from_env(env)


def test_number_bound_twice_is_rejected() -> None:
    s = SmsSettings(
        SimulatorSettings(True, ("+15550000000",)),
        TwilioSettings("AC", "t", numbers=("+15550000000",)),
        SmppSettings("h"),
    )
    with pytest.raises(ConfigError, match="bound to both simulator and twilio"):
        s.bindings()
