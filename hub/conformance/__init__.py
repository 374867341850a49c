"""The conformance kit: the connector contract, checked against a connector's own sandbox.

A plugin's test suite runs it in a few lines::

    from hub.conformance import WriteCase, conformance_tests
    from prophub_reso import plugin

    TestResoConformance = conformance_tests(plugin, writes=[...])

The generated class has one test per capability the connector declares (see
``docs/writing-a-connector.md``): reads stream page by page and validate against the canonical
model; incremental reads honour ``since``; a create then an update; no duplicate after a create
whose answer was lost, that timed out, or that a crash interrupted; a repeated create resolves
to the existing record; ``MissingParent``; a 429 storm with ``Retry-After`` in seconds and as a
date; a 5xx, a dropped connection and a truncated body mid-read; credentials never in a log line
or an error; bad payloads become ``ReadFailure``s. Each failure says what the connector did
wrong in one sentence.

The tests are plain synchronous methods (each runs its checks with ``asyncio.run``), so a
plugin needs no asyncio plugin for pytest; backoff and ``Retry-After`` waits run on a virtual
clock, so the kit never sleeps for them. Faults are injected by a :class:`FaultScript`, the
sandbox's outermost middleware, one chosen request at a time.
"""

from hub.conformance.faults import FaultScript
from hub.conformance.harness import Harness, Subject, VirtualTime, WriteCase
from hub.conformance.suite import conformance_tests

__all__ = ["FaultScript", "Harness", "Subject", "VirtualTime", "WriteCase", "conformance_tests"]
