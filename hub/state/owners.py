"""Who holds a run or a lease (``host:pid``), and whether that process still lives."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime

__all__ = ["RUN_TTL", "Stale", "gone", "owner_alive", "process_owner"]

#: how long a run is presumed alive when nobody renews it (``prophub sync``): on its own host a
#: dead process is seen at once; from another host, only once this has passed
RUN_TTL = 3600.0


def process_owner() -> str:
    """This process as a lease or run owner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str) -> bool | None:
    """Whether the process ``host:pid`` is alive: known on its own host, None elsewhere."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and someone else's
        return True
    return True


def gone(owner: str | None, expires_at: datetime | None, now: datetime) -> str | None:
    """Why the holder of a lease or run is taken to be gone, or None while it may live."""
    alive = owner_alive(owner) if owner else None
    if alive is False:
        return f"its process {owner} is gone"
    if alive is None and expires_at is not None and expires_at < now:
        return f"{owner or 'its owner'} has not renewed it since {expires_at.isoformat()}"
    return None


@dataclass(frozen=True, slots=True)
class Stale:
    """A run or a lease left behind by a process that is gone, now cleared."""

    kind: str  # "run" or "lease"
    name: str  # the run's flow, or the lease's name
    owner: str | None
    reason: str
    run_id: int | None = None
