"""Structured logs (``log_format = "json"``): one JSON object per line, with the request id of the HTTP
request and the id of the SMS session the line is about, when there are (docs/operations.md, "Logs").

The ids travel in context variables: ``App`` sets the request id for each HTTP request (the client's
``X-Request-ID`` when it sends a sane one, else a new one, echoed in the response), the session engine sets
the session id while it runs an operation on a session. Every log record then carries them, whichever
module logs it.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import re
import time
from typing import Any

__all__ = ["JsonFormatter", "log_config", "log_options", "new_request_id", "request_id", "session_id"]

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("smsdesk_request_id", default=None)
session_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("smsdesk_session_id", default=None)

_PREFIX = f"{os.getpid():x}-{int(time.time()):x}"
_COUNTER = itertools.count(1)
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id(given: str | None = None) -> str:
    """The client's id when it is short and plain, else this process's next one."""
    if given and _SANE.match(given):
        return given
    return f"{_PREFIX}-{next(_COUNTER):x}"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "requestId"?, "sessionId"?, "exception"?}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            out["requestId"] = rid
        sid = getattr(record, "session_id", None) or session_id.get()
        if sid is not None:
            out["sessionId"] = sid
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


JsonFormatter.converter = time.gmtime


def log_options(settings: Any) -> dict[str, Any]:
    """Keyword arguments of ``uvicorn.run`` for the settings' ``log_format`` (none: uvicorn's text logs)."""
    config = log_config(settings.log_format, settings.log_level)
    return {} if config is None else {"log_config": config}


def log_config(log_format: str, level: str) -> dict[str, Any] | None:
    """uvicorn's ``log_config`` for ``log_format`` (None: uvicorn's own, the text format)."""
    if log_format != "json":
        return None
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    lvl = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "smsdesk.logs.JsonFormatter"}},
        "handlers": {"default": handler},
        "loggers": {
            "": {"handlers": ["default"], "level": lvl},
            "uvicorn": {"handlers": ["default"], "level": lvl, "propagate": False},
            "uvicorn.error": {"level": lvl},
            "uvicorn.access": {"handlers": ["default"], "level": lvl, "propagate": False},
        },
    }
