"""The secrets the hub knows (configured credentials, issued tokens), and masking them.

Kept apart from logging so that errors can mask their text as they are built: a vendor that
echoes a credential in an error body never gets it into an error message, a stored reason
or a log line.
"""

from __future__ import annotations

import re
import threading

__all__ = ["MASK", "clear_secrets", "mask", "register_secret", "registered_secrets"]

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register_secret(value: str) -> None:
    """Mask this value wherever it appears from now on (values under 4 characters are not
    secrets worth the false positives)."""
    global _pattern
    if not value or len(value) < 4 or value in _secrets:
        return
    with _lock:
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def registered_secrets() -> frozenset[str]:
    """The values currently masked."""
    return frozenset(_secrets)


def clear_secrets() -> None:
    """Forget every registered secret (tests)."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None


def mask(text: str) -> str:
    """The text with every registered secret replaced by ``***``."""
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None else text
