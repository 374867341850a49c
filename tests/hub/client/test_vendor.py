"""The vendor HTTP client against small loopback servers: retries, errors, auth, limits."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr
from structlog.testing import capture_logs

from hub import errors
from hub.client.auth import HeaderAuth, OAuth2ClientCredentials
from hub.client.limits import Limits
from hub.client.paging import OffsetLimit
from hub.client.response import is_html
from hub.client.retry import RetryPolicy
from hub.client.vendor import VendorClient
from tests.conftest import Serve, Sleeps

SECRET = "s3cr3t-value-never-shown"


def scripted(*answers: Callable[[], web.StreamResponse]) -> tuple[web.Application, list[str]]:
    """An app answering successive requests from a script (the last answer repeats)."""
    seen: list[str] = []
    script = itertools.chain(answers, itertools.repeat(answers[-1]))

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(f"{request.method} {request.path}")
        return next(script)()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app, seen


def ok(data: Any = None) -> Callable[[], web.Response]:
    return lambda: web.json_response(data if data is not None else {"ok": True})


def status(
    code: int, body: Any = None, headers: dict[str, str] | None = None
) -> Callable[[], web.Response]:
    return lambda: web.json_response(body or {"message": f"m{code}"}, status=code, headers=headers)


def client(url: str, sleeps: Sleeps, **kw: Any) -> VendorClient:
    kw.setdefault("retry", RetryPolicy(max_attempts=4))
    kw.setdefault("limits", Limits(100, max_concurrency=20, clock=sleeps.clock, sleep=sleeps))
    return VendorClient(vendor="acme", base_url=url, sleep=sleeps, **kw)


async def test_retries_503_then_succeeds(serve: Serve, sleeps: Sleeps) -> None:
    """A 503 is retried with backoff and the later success is returned."""
    app, seen = scripted(status(503), status(503), ok())
    async with client(await serve(app), sleeps) as c:
        response = await c.request("GET", "/things")
    assert response.json() == {"ok": True} and len(seen) == 3 and len(sleeps.delays) == 2


async def test_400_is_not_retried(serve: Serve, sleeps: Sleeps) -> None:
    """Rejected input fails at once with the vendor's message."""
    app, seen = scripted(status(400, {"message": "Name is required"}))
    async with client(await serve(app), sleeps) as c:
        with pytest.raises(errors.InvalidRecord, match="Name is required"):
            await c.request("GET", "/things")
    assert len(seen) == 1 and sleeps.delays == []


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (401, errors.AuthFailed),
        (403, errors.PermissionDenied),
        (404, errors.NotFound),
        (409, errors.Conflict),
        (415, errors.InvalidRecord),
        (422, errors.InvalidRecord),
    ],
)
async def test_each_status_raises_its_error(
    serve: Serve, sleeps: Sleeps, code: int, cls: type[errors.VendorError]
) -> None:
    """Every error status raises its class with vendor, method, path, status and messages."""
    app, _ = scripted(status(code, {"message": "vendor says no"}))
    async with client(await serve(app), sleeps) as c:
        with pytest.raises(cls) as caught:
            await c.request("PUT", "/things/1", json={"a": 1})
    err = caught.value
    assert (err.vendor, err.method, err.path, err.status) == ("acme", "PUT", "/things/1", code)
    assert err.messages == ["vendor says no"]


async def test_retry_after_seconds_is_honoured_and_pauses_the_connector(
    serve: Serve, sleeps: Sleeps
) -> None:
    """A 429's Retry-After sets the wait and pauses the whole connector."""
    app, _ = scripted(status(429, headers={"Retry-After": "3"}), ok())
    limits = Limits(100, clock=sleeps.clock, sleep=sleeps)
    async with client(await serve(app), sleeps, limits=limits) as c:
        await c.request("GET", "/things")
    assert sleeps.delays == [3.0] and limits.resume_at == 3.0


async def test_a_429_on_the_last_attempt_still_pauses_the_connector(
    serve: Serve, sleeps: Sleeps
) -> None:
    """Out of retries, the request fails; the others of the credential still wait out the
    vendor's Retry-After."""
    app, _ = scripted(status(429, headers={"Retry-After": "7"}))
    limits = Limits(100, clock=sleeps.clock, sleep=sleeps)
    async with client(await serve(app), sleeps, limits=limits, retry=RetryPolicy(1)) as c:
        with pytest.raises(errors.RateLimited):
            await c.request("GET", "/things")
    assert limits.resume_at == 7.0


async def test_retry_after_http_date_is_honoured(serve: Serve, sleeps: Sleeps) -> None:
    """A Retry-After given as an HTTP-date becomes the seconds until then."""
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    app, _ = scripted(status(429, headers={"Retry-After": when}), ok())
    async with client(await serve(app), sleeps) as c:
        await c.request("GET", "/things")
    assert 15 < sleeps.delays[0] <= 20


async def test_gives_up_after_max_attempts(serve: Serve, sleeps: Sleeps) -> None:
    """Retries stop at the attempt cap with the last error."""
    app, seen = scripted(status(502))
    async with client(await serve(app), sleeps) as c:
        with pytest.raises(errors.Unavailable):
            await c.request("GET", "/x")
    assert len(seen) == 4


async def test_total_time_cap(serve: Serve, sleeps: Sleeps) -> None:
    """A Retry-After beyond the total time budget is not waited for."""
    app, seen = scripted(status(429, headers={"Retry-After": "100"}))
    policy = RetryPolicy(max_attempts=5, max_total=10)
    async with client(await serve(app), sleeps, retry=policy) as c:
        with pytest.raises(errors.RateLimited) as caught:
            await c.request("GET", "/x")
    assert caught.value.retry_after == 100 and len(seen) == 1


async def test_create_not_retried_after_5xx_and_outcome_unknown(
    serve: Serve, sleeps: Sleeps
) -> None:
    """A create that met a 5xx may have happened: no retry, and the error says so."""
    app, seen = scripted(status(503), ok())
    async with client(await serve(app), sleeps) as c:
        with pytest.raises(errors.Unavailable) as caught:
            await c.request("POST", "/things", json={}, create=True)
    assert caught.value.outcome_unknown and len(seen) == 1


async def test_create_retried_after_429(serve: Serve, sleeps: Sleeps) -> None:
    """A 429 proves the create did not happen, so it is retried."""
    app, seen = scripted(status(429, headers={"Retry-After": "1"}), ok({"id": 1}))
    async with client(await serve(app), sleeps) as c:
        response = await c.request("POST", "/things", json={}, create=True)
    assert response.json() == {"id": 1} and len(seen) == 2


async def test_create_retried_after_connection_refused(sleeps: Sleeps) -> None:
    """A refused connection proves the create was not sent; it is retried, then reported."""
    async with client("http://127.0.0.1:9", sleeps) as c:
        with pytest.raises(errors.ConnectionFailed) as caught:
            await c.request("POST", "/things", json={}, create=True)
    assert not caught.value.outcome_unknown and len(sleeps.delays) == 3


async def test_timeout_on_create_is_outcome_unknown(serve: Serve, sleeps: Sleeps) -> None:
    """A create that timed out is not retried and is flagged outcome-unknown."""

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/things", slow)
    app.router.add_get("/things", slow)
    async with client(await serve(app), sleeps, timeout=0.05) as c:
        with pytest.raises(errors.RequestTimeout) as caught:
            await c.request("POST", "/things", json={}, create=True)
        assert caught.value.outcome_unknown
        with pytest.raises(errors.RequestTimeout) as read:
            await c.request("GET", "/things")
    assert len(sleeps.delays) == 3
    # a read that timed out is just that: never reported as an unknown create outcome
    assert not read.value.outcome_unknown and "outcome unknown" not in str(read.value)


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b"<html><body>502</body></html>", "text/html", "HTML page"),
        (b'{"a": [1, 2', "application/json", "truncated"),
        (b"\xff\xfe{}", "application/json", "UTF-8"),
        (b"", "application/json", "empty body"),
    ],
)
async def test_unreadable_bodies_are_protocol_errors(
    serve: Serve, sleeps: Sleeps, body: bytes, content_type: str, problem: str
) -> None:
    """HTML pages, truncated JSON and invalid UTF-8 become ProtocolError after GET retries."""
    app, seen = scripted(lambda: web.Response(body=body, content_type=content_type))
    async with client(await serve(app), sleeps) as c:
        with pytest.raises(errors.ProtocolError, match=problem):
            await c.request("GET", "/x")
    assert len(seen) == 4


@pytest.mark.parametrize("content_type", ["text/html", "application/json"])
async def test_a_write_answered_by_a_web_page_fails_even_unparsed(
    serve: Serve, sleeps: Sleeps, content_type: str
) -> None:
    """A create whose answer is not decoded still fails on an HTML page: outcome unknown."""
    page = b"  <!DOCTYPE html><html><body>Sign in</body></html>"
    app, seen = scripted(lambda: web.Response(body=page, content_type=content_type))
    async with client(await serve(app), sleeps) as c:
        with pytest.raises(errors.ProtocolError, match="HTML") as caught:
            await c.request("POST", "/homes", json={"a": 1}, create=True, expect_json=False)
    assert caught.value.outcome_unknown and seen == ["POST /homes"]


async def test_an_unparsed_write_answer_is_not_decoded(serve: Serve, sleeps: Sleeps) -> None:
    """A write whose body is not used succeeds on its status alone."""
    app, _ = scripted(lambda: web.Response(body=b'{"id": 1, "na', content_type="application/json"))
    async with client(await serve(app), sleeps) as c:
        response = await c.request("PUT", "/homes/1", json={"a": 1}, expect_json=False)
    assert response.status == 200


async def test_truncated_read_is_retried(serve: Serve, sleeps: Sleeps) -> None:
    """A GET whose body came cut short is retried and the whole answer returned."""
    app, _ = scripted(
        lambda: web.Response(body=b'{"a":', content_type="application/json"), ok({"a": 1})
    )
    async with client(await serve(app), sleeps) as c:
        assert (await c.request("GET", "/x")).json() == {"a": 1}


async def test_header_auth_sets_headers_and_hides_secret(serve: Serve, sleeps: Sleeps) -> None:
    """Static header auth sends the secret, which never reaches errors or logs."""
    received: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        received.append(request.headers.get("X-Key", ""))
        return web.json_response({"message": f"bad key {request.headers.get('X-Key')}"}, status=401)

    app = web.Application()
    app.router.add_get("/x", handler)
    auth = HeaderAuth({"X-Key": SecretStr(SECRET)})
    with capture_logs() as logs:
        async with client(await serve(app), sleeps, auth=auth) as c:
            with pytest.raises(errors.AuthFailed) as caught:
                await c.request("GET", "/x")
    assert received == [SECRET]
    assert SECRET not in repr(auth)
    from hub.log import redact_secrets

    rendered = [str(redact_secrets(None, "info", dict(e))) for e in logs]
    rendered.append(str(redact_secrets(None, "error", {"event": str(caught.value)})))
    assert all(SECRET not in line for line in rendered)


def token_app(lifetime: int = 3600) -> tuple[web.Application, dict[str, Any]]:
    """A token endpoint plus a protected resource that rejects stale tokens."""
    state: dict[str, Any] = {"issued": [], "valid": set(), "calls": 0}

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("client_secret") != SECRET:
            return web.json_response({"error": "invalid_client"}, status=401)
        value = f"tok-{len(state['issued'])}-abcdef"
        state["issued"].append(value)
        state["valid"] = {value}
        state["scope"] = form.get("scope")
        return web.json_response(
            {"access_token": value, "token_type": "Bearer", "expires_in": lifetime}
        )

    async def resource(request: web.Request) -> web.Response:
        state["calls"] += 1
        await asyncio.sleep(0)
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in state["valid"]:
            return web.json_response(
                {"message": "Invalid or missing authentication token"}, status=401
            )
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/oauth2/token", token)
    app.router.add_get("/r", resource)
    return app, state


async def test_burst_past_expiry_fetches_exactly_one_token(serve: Serve, sleeps: Sleeps) -> None:
    """Twenty concurrent requests after the token expired share a single refresh."""
    app, state = token_app()
    url = await serve(app)
    now = [0.0]
    auth = OAuth2ClientCredentials(
        url + "/oauth2/token", "cid", SecretStr(SECRET), ["home.write"], clock=lambda: now[0]
    )
    async with client(url, sleeps, auth=auth) as c:
        await c.request("GET", "/r")
        now[0] = 10_000.0
        await asyncio.gather(*(c.request("GET", "/r") for _ in range(20)))
    assert auth.tokens_issued == 2 and len(state["issued"]) == 2
    assert state["scope"] == "home.write"


async def test_401_refreshes_once_and_retries(serve: Serve, sleeps: Sleeps) -> None:
    """A token the vendor revoked is replaced once and the request retried transparently."""
    app, state = token_app()
    url = await serve(app)
    auth = OAuth2ClientCredentials(url + "/oauth2/token", "cid", SecretStr(SECRET))
    async with client(url, sleeps, auth=auth) as c:
        await c.request("GET", "/r")
        state["valid"] = set()  # the vendor revoked every token
        assert (await c.request("GET", "/r")).json() == {"ok": True}
    assert auth.tokens_issued == 2


async def test_bad_client_secret_is_auth_failed_without_secret(
    serve: Serve, sleeps: Sleeps
) -> None:
    """A refused token request is AuthFailed naming the vendor's reason, not the secret."""
    app, _ = token_app()
    url = await serve(app)
    auth = OAuth2ClientCredentials(url + "/oauth2/token", "cid", SecretStr("wrong-secret-x"))
    async with client(url, sleeps, auth=auth) as c:
        with pytest.raises(errors.AuthFailed, match="invalid_client") as caught:
            await c.request("GET", "/r")
    assert "wrong-secret-x" not in str(caught.value)


async def test_a_token_endpoint_answering_500_is_connector_wide(
    serve: Serve, sleeps: Sleeps
) -> None:
    """A token endpoint that fails is retried by the policy, then TokenUnavailable: a
    connector-wide fault, never an unknown create outcome (nothing was sent)."""
    tries = []

    async def token(request: web.Request) -> web.Response:
        tries.append(1)
        return web.json_response({"message": "down"}, status=500)

    app = web.Application()
    app.router.add_post("/oauth2/token", token)
    url = await serve(app)
    auth = OAuth2ClientCredentials(url + "/oauth2/token", "cid", SecretStr(SECRET), vendor="acme")
    async with client(url, sleeps, auth=auth) as c:
        with pytest.raises(errors.TokenUnavailable) as caught:
            await c.request("POST", "/things", json={"a": 1}, create=True)
    assert caught.value.connector_wide and not caught.value.outcome_unknown
    assert len(tries) == 4 and len(sleeps.delays) == 3  # the policy's four attempts, once


async def test_deeply_nested_json_is_named_and_not_retried(serve: Serve, sleeps: Sleeps) -> None:
    """JSON nested past any sane depth is said to be so (not "truncated"), asked for once."""
    body = b"[" * 5000 + b"]" * 5000
    app, seen = scripted(lambda: web.Response(body=body, content_type="application/json"))
    async with client(await serve(app), sleeps) as c:
        with pytest.raises(errors.ProtocolError, match="nested too deeply") as caught:
            await c.request("GET", "/rows")
    assert len(seen) == 1 and sleeps.delays == [] and "truncated" not in str(caught.value)


@pytest.mark.parametrize("chunked", [True, False])
async def test_a_body_past_the_size_limit_is_a_typed_error(
    serve: Serve, sleeps: Sleeps, chunked: bool
) -> None:
    """A body that never ends, or says it is too long, is ResponseTooLarge, read no further."""
    sent = [0]

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if not chunked:
            response.content_length = 10**12
        await response.prepare(request)
        await response.write(b"[")
        for _ in range(10_000):  # bounded: the client stops reading long before this
            try:
                await response.write(b'{"Id": 1, "Name": "x"},' * 100)
            except ConnectionError:
                break
            sent[0] += 1
        return response

    app = web.Application()
    app.router.add_get("/rows", endless)
    async with client(await serve(app), sleeps, max_body=64 * 1024) as c:
        with pytest.raises(errors.ResponseTooLarge, match="max_response_bytes") as caught:
            await c.request("GET", "/rows")
    assert caught.value.status == 200 and sleeps.delays == []
    assert sent[0] < 10_000


async def test_limits_hold_the_rate() -> None:
    """The limiter paces requests at the configured rate, with the configured burst."""
    limits = Limits(5, 1.0, max_concurrency=10, burst=2)
    for _ in range(2):
        async with limits.slot():
            pass
    assert limits.limiter is not None
    assert not limits.limiter.has_capacity()
    assert limits.limiter.time_period == pytest.approx(0.4)  # 2 per 0.4 s is 5 per second
    waiter = asyncio.create_task(limits.limiter.acquire())
    await asyncio.sleep(0)
    assert not waiter.done()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter


async def test_a_rate_of_zero_is_no_rate_limit_but_keeps_the_cap_and_the_pause(
    sleeps: Sleeps,
) -> None:
    """``rate_limit = 0``: no limiter paces anything; concurrency and a 429 pause still hold."""
    limits = Limits(0, max_concurrency=2, clock=sleeps.clock, sleep=sleeps)
    assert limits.limiter is None
    for _ in range(50):  # far past any burst a limiter would allow
        async with limits.slot():
            pass
    assert sleeps.delays == []
    async with limits.slot(), limits.slot():
        third = asyncio.create_task(limits.slot().__aenter__())
        await asyncio.sleep(0)
        assert not third.done()  # the cap of two holds
    await third
    await limits.slot().__aexit__(None, None, None)
    limits.pause(1.5)
    async with limits.slot():
        pass
    assert sleeps.delays == [1.5]


async def test_pause_holds_every_request(sleeps: Sleeps) -> None:
    """After a pause, the next slot waits out the pause on the injected clock."""
    limits = Limits(100, clock=sleeps.clock, sleep=sleeps)
    limits.pause(2.5)
    async with limits.slot():
        pass
    assert sleeps.delays == [2.5]


async def test_paginate_streams_pages_and_stops_at_total(serve: Serve, sleeps: Sleeps) -> None:
    """Offset paging yields page by page and stops at X-Total-Count."""
    rows = list(range(7))

    async def handler(request: web.Request) -> web.Response:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        return web.json_response(
            rows[offset : offset + limit], headers={"X-Total-Count": str(len(rows))}
        )

    app = web.Application()
    app.router.add_get("/rows", handler)
    async with client(await serve(app), sleeps) as c:
        pages = [p async for p in c.paginate("/rows", OffsetLimit(limit=3))]
    assert pages == [[0, 1, 2], [3, 4, 5], [6]]


async def test_paginate_detects_a_loop(serve: Serve, sleeps: Sleeps) -> None:
    """A strategy that asks for the same page twice raises PaginationError."""

    class Stuck(OffsetLimit):
        def next(self, page: Any) -> dict[str, Any]:
            return self.first()

    app, _ = scripted(ok([1]))
    async with client(await serve(app), sleeps) as c:
        with pytest.raises(errors.PaginationError):
            async for _ in c.paginate("/rows", Stuck(limit=1)):
                pass


async def test_client_is_one_shot(sleeps: Sleeps) -> None:
    """A closed client cannot be reopened or used."""
    c = client("http://127.0.0.1:9", sleeps)
    async with c:
        pass
    with pytest.raises(RuntimeError):
        await c.__aenter__()
    with pytest.raises(RuntimeError):
        await c.request("GET", "/")


@pytest.mark.parametrize(
    ("content_type", "body", "html"),
    [
        ("text/html; charset=utf-8", b'{"a": 1}', True),  # what the vendor says it is
        ("application/json", b"<html><body>502</body></html>", True),
        ("application/json", b"\r\n  <!DOCTYPE html>", True),
        ("", b"\n\n<html>", True),
        ("application/json", b'{"a": 1}', False),
        ("application/json", b'  \n{"a": 1}', False),
        ("application/json", b"", False),
        ("application/json", b" " * 300 + b"<html>", False),  # only the start is looked at
    ],
)
def test_html_answers_are_recognised(content_type: str, body: bytes, html: bool) -> None:
    """A web page instead of API data is told apart by its type or its first character."""
    headers = {"Content-Type": content_type} if content_type else {}
    assert is_html(headers, body) is html
