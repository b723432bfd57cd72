"""A log filter that keeps secrets out of every log line.

API keys travel as `key=...` in form bodies and query strings (the protocol demands it), so
any logged URL or body could carry one. The filter rewrites the rendered message once,
for every handler, instead of trusting each call site to remember.
"""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(
    r"(?i)(\b(?:key|api_key|apikey|password|secret|token|sessionid|csrftoken)\b\s*[=:]\s*[\"']?)([^&\s\"',;]+)"
)


def redact(text: str) -> str:
    """Replace the value of every `key=...`-like pair with a fixed marker."""
    return _SECRET.sub(r"\1[redacted]", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
