"""Twilio's webhook signature, computed independently of the ``twilio`` package (its documented algorithm).

Base64 of HMAC(secret, url + concatenation of name+value over the parameters sorted by name, then value).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence


def sign(secret: str, url: str, params: Sequence[tuple[str, str]], *, sha256: bool = False) -> str:
    data = url + "".join(k + v for k, v in sorted(set(params)))
    digest = hmac.new(secret.encode(), data.encode(), hashlib.sha256 if sha256 else hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
