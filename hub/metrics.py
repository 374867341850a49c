"""Prometheus metrics: request counts and latencies per vendor, flow counters, last success.

``Metrics`` owns its own ``CollectorRegistry`` (never the global one) and implements the HTTP
client's observer hooks, so it plugs into every connector through :class:`hub.app.Hub`.
Labels stay bounded at a thousand tenants: vendor, method and status for requests; the
config's flow name (not the tenant's copy of it) for flows; per tenant and per credential
(a hash of vendor, URL and client id: never a secret) only a few series each: requests,
429s, the configured rate (budget use is ``rate(prophub_credential_requests_total[1m]) /
prophub_credential_rate_limit``), runs, last success and how late the last run started.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from hub.client.observer import RequestObserver
from hub.sync import FlowReport

__all__ = ["CONTENT_TYPE", "Metrics", "ScopedObserver"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The hub's metrics in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "prophub_requests", "Vendor HTTP attempts", ["vendor", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "prophub_request_seconds",
            "Vendor HTTP attempt latency",
            ["vendor", "method"],
            registry=r,
        )
        self.throttled = Counter("prophub_throttled", "429 answers", ["vendor"], registry=r)
        self.retries = Counter(
            "prophub_retries", "Retried vendor calls", ["vendor", "reason"], registry=r
        )
        self.records = Counter(
            "prophub_records",
            "Records handled per flow and outcome",
            ["flow", "outcome"],
            registry=r,
        )
        self.runs = Counter("prophub_runs", "Flow runs by result", ["flow", "result"], registry=r)
        self.run_seconds = Histogram(
            "prophub_run_seconds", "Flow run duration", ["flow"], registry=r
        )
        self.last_success = Gauge(
            "prophub_last_success_timestamp_seconds",
            "Unix time of the flow's last successful run",
            ["flow"],
            registry=r,
        )
        self.tenant_requests = Counter(
            "prophub_tenant_requests", "Vendor HTTP attempts per tenant", ["tenant"], registry=r
        )
        self.tenant_throttled = Counter(
            "prophub_tenant_throttled", "429 answers per tenant", ["tenant"], registry=r
        )
        self.tenant_runs = Counter(
            "prophub_tenant_runs",
            "Flow runs per tenant by result",
            ["tenant", "result"],
            registry=r,
        )
        self.tenant_last_success = Gauge(
            "prophub_tenant_last_success_timestamp_seconds",
            "Unix time of the tenant's last successful run",
            ["tenant"],
            registry=r,
        )
        self.tenant_lag = Gauge(
            "prophub_tenant_schedule_lag_seconds",
            "How late the tenant's last run started after it was due",
            ["tenant"],
            registry=r,
        )
        self.schedule_lag = Histogram(
            "prophub_schedule_lag_seconds",
            "How late runs start after they are due",
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
            registry=r,
        )
        self.credential_requests = Counter(
            "prophub_credential_requests",
            "Vendor HTTP attempts per credential",
            ["credential"],
            registry=r,
        )
        self.credential_throttled = Counter(
            "prophub_credential_throttled", "429 answers per credential", ["credential"], registry=r
        )
        self.credential_rate = Gauge(
            "prophub_credential_rate_limit",
            "The requests a second configured for the credential",
            ["credential"],
            registry=r,
        )

    def on_request(
        self, vendor: str, method: str, path: str, status: int | None, elapsed: float, attempt: int
    ) -> None:
        """Count one attempt and its latency."""
        self.requests.labels(vendor, method, str(status) if status else "error").inc()
        self.latency.labels(vendor, method).observe(elapsed)

    def on_throttled(self, vendor: str, retry_after: float | None) -> None:
        """Count a 429."""
        self.throttled.labels(vendor).inc()

    def on_retry(self, vendor: str, method: str, path: str, attempt: int, reason: str) -> None:
        """Count a retry."""
        self.retries.labels(vendor, reason).inc()

    def scoped(self, tenant: str, credential: str, rate: float) -> ScopedObserver:
        """The observer of one tenant's connector: its requests counted for the tenant and
        for the credential as well."""
        self.credential_rate.labels(credential).set(rate)
        return ScopedObserver(self, tenant or "default", credential)

    def record_lag(self, tenant: str, seconds: float) -> None:
        """A run of the tenant started ``seconds`` after it was due."""
        self.tenant_lag.labels(tenant or "default").set(seconds)
        self.schedule_lag.observe(seconds)

    def record_report(
        self, report: FlowReport, finished_at: float, tenant: str = "", flow: str | None = None
    ) -> None:
        """Add a finished run's counts; a run without failures is a success."""
        self.tenant_runs.labels(tenant or "default", "ok").inc()
        self.tenant_last_success.labels(tenant or "default").set(finished_at)
        report = report if flow is None else _renamed(report, flow)
        outcomes = {
            "read": report.read,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "skipped": report.skipped,
            "failed": report.failed,
            "deleted": report.deleted,
        }
        for outcome, count in outcomes.items():
            self.records.labels(report.flow, outcome).inc(count)
        self.run_seconds.labels(report.flow).observe(report.seconds)
        self.runs.labels(report.flow, "ok").inc()
        self.last_success.labels(report.flow).set(finished_at)

    def record_failure(self, flow: str, tenant: str = "") -> None:
        """Count a run that ended in an error."""
        self.runs.labels(flow, "error").inc()
        self.tenant_runs.labels(tenant or "default", "error").inc()

    def render(self) -> bytes:
        """The exposition text for ``/metrics``."""
        return generate_latest(self.registry)


def _renamed(report: FlowReport, flow: str) -> FlowReport:
    """The report under the config's flow name, for labels that stay bounded."""
    import dataclasses

    return dataclasses.replace(report, flow=flow)


class ScopedObserver:
    """One tenant's connector's observer: the hub's metrics, and its tenant's and credential's."""

    def __init__(self, metrics: Metrics, tenant: str, credential: str) -> None:
        self.metrics = metrics
        self.tenant = metrics.tenant_requests.labels(tenant)
        self.tenant_429 = metrics.tenant_throttled.labels(tenant)
        self.credential = metrics.credential_requests.labels(credential)
        self.credential_429 = metrics.credential_throttled.labels(credential)

    def on_request(
        self, vendor: str, method: str, path: str, status: int | None, elapsed: float, attempt: int
    ) -> None:
        """Count one attempt for the hub, the tenant and the credential."""
        self.metrics.on_request(vendor, method, path, status, elapsed, attempt)
        self.tenant.inc()
        self.credential.inc()

    def on_throttled(self, vendor: str, retry_after: float | None) -> None:
        """Count a 429 for the hub, the tenant and the credential."""
        self.metrics.on_throttled(vendor, retry_after)
        self.tenant_429.inc()
        self.credential_429.inc()

    def on_retry(self, vendor: str, method: str, path: str, attempt: int, reason: str) -> None:
        """Count a retry."""
        self.metrics.on_retry(vendor, method, path, attempt, reason)


_: type[RequestObserver] = ScopedObserver
