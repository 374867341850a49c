"""The sync engine: one flow reads an entity from a source and writes it to a target.

Per record: translate references into the target's refs (creating missing parents first),
compare the content hash with the one last written there (unchanged costs no write), match
a create against the target's natural keys, record an intended create in the ledger before
sending it, settle an unknown outcome by looking the record up rather than creating it again,
and dead-letter what the target rejects. The cursor moves only when the whole read was
handled, so a crash re-reads rather than skips; deletions follow only a complete read.
"""

from __future__ import annotations

from hub.sync.report import FlowReport
from hub.sync.run import FlowRun, run_flow

__all__ = ["FlowReport", "FlowRun", "run_flow"]
