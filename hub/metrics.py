"""Prometheus metrics: request counts and latencies per vendor, flow counters, last success.

``Metrics`` owns its own ``CollectorRegistry`` (never the global one) and implements the HTTP
client's observer hooks, so it plugs into every connector through :class:`hub.app.Hub`.
Labels stay bounded: vendor, method and status for requests; flow for flows.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from hub.sync import FlowReport

__all__ = ["CONTENT_TYPE", "Metrics"]

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

    def record_report(self, report: FlowReport, finished_at: float) -> None:
        """Add a finished run's counts; a run without failures is a success."""
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

    def record_failure(self, flow: str) -> None:
        """Count a run that ended in an error."""
        self.runs.labels(flow, "error").inc()

    def render(self) -> bytes:
        """The exposition text for ``/metrics``."""
        return generate_latest(self.registry)
