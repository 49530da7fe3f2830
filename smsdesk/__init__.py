"""smsdesk: an SMS contact-center server speaking the GWS v2 SMS Session API."""

__version__ = "0.2.0"  # the one place the version lives (pyproject.toml reads it; CHANGELOG.md names it)
