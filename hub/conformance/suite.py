"""``conformance_tests()``: the kit as a pytest test class, one test per declared capability."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import replace
from typing import Any

from hub.conformance.harness import MakeConnector, Subject, WriteCase
from hub.conformance.reads import (
    check_bad_payloads,
    check_faults_mid_read,
    check_incremental,
    check_rate_limited_read,
    check_read,
)
from hub.conformance.secrets import check_check, check_credentials
from hub.conformance.writes import (
    check_crashed_create,
    check_delete,
    check_lost_create,
    check_missing_parent,
    check_write,
)
from hub.connector import Capabilities, ConnectorPlugin
from hub.sandbox.server import SandboxServer

__all__ = ["conformance_tests"]

Test = Callable[[Any], None]


def conformance_tests(
    plugin: ConnectorPlugin,
    *,
    writes: Iterable[WriteCase] = (),
    untested: Mapping[str, str] | None = None,
    size: int = 20,
    seed: int = 1,
    page_size: int = 5,
    settings: Mapping[str, Any] | None = None,
    capabilities: Capabilities | None = None,
    make_connector: MakeConnector | None = None,
    fault_entity: str | None = None,
    count: Callable[[SandboxServer], Mapping[str, int]] | None = None,
) -> type:
    """A test class checking every capability ``plugin``'s connector declares against its
    sandbox; assign it to a ``Test...`` name in a test module for pytest to collect.

    ``writes`` gives one :class:`WriteCase` per entity the connector writes. A declared
    capability the kit cannot check fails its test, unless ``untested`` names it (an entity,
    or ``"write:<entity>"``) with the reason, which skips it. ``settings`` are added to the
    sandbox's connector table; ``make_connector`` replaces the plugin's factory (which the
    kit calls with ``sleep=``, as an ``HTTPConnector`` takes it). The 429, fault and
    credential checks read ``fault_entity`` (default: the first entity read). Duplicates are
    found by counting each sandbox collection's records; ``count`` adds the records a sandbox
    keeps elsewhere (nested in other records, say).
    """
    declared = capabilities or getattr(plugin.connector, "capabilities", None)
    if not isinstance(declared, Capabilities):
        raise TypeError(f"{plugin.name}: pass capabilities= (the connector class declares none)")
    subject = Subject(
        plugin=plugin,
        capabilities=declared,
        writes={case.entity: case for case in writes},
        untested=dict(untested or {}),
        size=size,
        seed=seed,
        page_size=page_size,
        settings=dict(settings or {}),
        make_connector=make_connector,
        count=count,
    )
    tests: dict[str, Test] = {"test_check": _test(check_check, subject)}
    reads = sorted(declared.reads)
    for entity in reads:
        tests[f"test_read_{entity}"] = _test(check_read, subject, entity)
        tests[f"test_bad_payloads_{entity}"] = _test(check_bad_payloads, subject, entity)
    for entity in sorted(declared.incremental & declared.reads):
        tests[f"test_incremental_{entity}"] = _test(check_incremental, subject, entity)
    if reads:
        first = fault_entity or reads[0]
        for form in ("seconds", "date"):
            tests[f"test_429_retry_after_{form}"] = _test(
                check_rate_limited_read, subject, first, form
            )
        tests["test_5xx_drop_and_truncation_mid_read"] = _test(
            check_faults_mid_read, subject, first
        )
        tests["test_credentials_never_shown"] = _test(check_credentials, subject, first)
    for entity in sorted(declared.writes):
        tests.update(_write_tests(subject, entity))
    tests = {name: _unless_untested(test, subject, name) for name, test in tests.items()}
    name = "Conformance" + "".join(p.title() for p in plugin.name.split("_"))
    doc = f"The connector contract, checked on {plugin.name!r} against its sandbox."
    return type(name, (), {"__doc__": doc, **tests})


def _write_tests(subject: Subject, entity: str) -> dict[str, Test]:
    case = subject.writes.get(entity)
    if case is None:
        return {f"test_write_{entity}": _missing_case(subject, entity)}
    tests = {
        f"test_write_{entity}": _test(check_write, subject, case),
        f"test_create_with_lost_answer_{entity}": _test(
            check_lost_create, subject, case, "lose_answer"
        ),
        f"test_create_timed_out_{entity}": _test(check_lost_create, subject, case, "stall"),
        f"test_create_after_crash_{entity}": _test(check_crashed_create, subject, case),
    }
    if case.orphan is not None:
        tests[f"test_missing_parent_{entity}"] = _test(check_missing_parent, subject, case)
    if entity in subject.capabilities.deletes:
        tests[f"test_delete_{entity}"] = _test(check_delete, subject, case)
    return tests


def _test(check: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> Test:
    def test(self: Any) -> None:
        asyncio.run(check(*args))

    test.__doc__ = (check.__doc__ or "").split("\n\n")[0]
    return test


def _missing_case(subject: Subject, entity: str) -> Test:
    def test(self: Any) -> None:
        raise AssertionError(
            f"{subject.plugin.name} declares writes of {entity!r} but gives the kit no "
            f"WriteCase for it (or names it in untested= with the reason)"
        )

    test.__doc__ = f"A write case for {entity!r} is given."
    return test


def _unless_untested(test: Test, subject: Subject, name: str) -> Test:
    entity = name.rsplit("_", 1)[-1]
    reason = (
        subject.untested.get(f"write:{entity}")
        if "write" in name or "create" in name or "parent" in name or "delete" in name
        else None
    )
    reason = reason or subject.untested.get(name.removeprefix("test_"))
    if reason is None:
        return test

    def skipped(self: Any) -> None:
        import pytest

        pytest.skip(reason)

    skipped.__doc__ = test.__doc__
    return skipped


def with_plugin(subject: Subject, plugin: ConnectorPlugin) -> Subject:
    """The same subject with another plugin (a deliberately broken copy, say)."""
    return replace(subject, plugin=plugin)
