"""The RESO Web API connector: ``Property``, ``Member`` and ``Office`` over OData.

Reads only: the Web API Core is a read API (writing to an MLS is a separate endpoint set that
few servers open). Pages come with ``$top`` and, while there are more, an ``@odata.nextLink``;
``$count=true`` asks for ``@odata.count``, so each resource's read ends with a ``ReadEnd``
stating its completeness. An incremental read filters on ``ModificationTimestamp``. Auth is an
OAuth2 client-credentials token (``token_url``, ``client_id``, ``client_secret``) or a bearer
token issued once (``token``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Self, Unpack

from pydantic import Field, SecretStr, model_validator

from hub.sdk import (
    BearerAuth,
    CanonicalRecord,
    Capabilities,
    ClientOptions,
    ConnectorSettings,
    HTTPConnector,
    OAuth2ClientCredentials,
    ProtocolError,
    ReadEnd,
    ReadFailure,
    SourceRecord,
    UnsupportedValue,
    WriteResult,
    follow_links,
    json_object,
    parse_timestamp,
    pick_collections,
    safe_record,
)
from prophub_reso import mapping as m

__all__ = ["ResoConnector", "ResoSettings", "error_messages"]

#: collection (the RESO resource) -> (entity, key field, mapper)
RESOURCES: dict[str, tuple[str, str, Callable[[Mapping[str, Any]], CanonicalRecord]]] = {
    "Property": ("home", "ListingKey", m.to_home),
    "Member": ("person", "MemberKey", m.to_person),
    "Office": ("organization", "OfficeKey", m.to_office),
}
DEFAULT_READS = {entity: (name,) for name, (entity, _, _) in RESOURCES.items()}


class ResoSettings(ConnectorSettings):
    """``[connectors.NAME]`` for ``type = "reso"``: the OData service root as ``base_url``."""

    type: Literal["reso"] = "reso"
    token: SecretStr | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scopes: list[str] = Field(default_factory=list)
    page_size: int | None = Field(default=100, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_way_in(self) -> Self:
        oauth = (self.token_url, self.client_id, self.client_secret)
        if self.token is None and None in oauth:
            raise ValueError("give token, or token_url, client_id and client_secret")
        return self


def error_messages(status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
    """An OData error body's message (``{"error": {"code", "message"}}``)."""
    data = json_object(body)
    error = data.get("error") if data is not None else None
    if not isinstance(error, dict):
        return []
    return [str(error.get("message") or error.get("code") or "")][:1]


def _odata_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ResoConnector(HTTPConnector):
    """A RESO Web API server (an MLS) over one aiohttp session."""

    vendor = "reso"
    capabilities = Capabilities(
        reads=frozenset(DEFAULT_READS),
        incremental=frozenset(DEFAULT_READS),
    )

    def __init__(self, settings: ResoSettings, **options: Unpack[ClientOptions]) -> None:
        self.settings = settings
        auth: BearerAuth | OAuth2ClientCredentials
        if settings.token is not None:
            auth = BearerAuth(settings.token)
        else:
            assert settings.token_url and settings.client_id and settings.client_secret
            auth = OAuth2ClientCredentials(
                settings.token_url,
                settings.client_id,
                settings.client_secret,
                settings.scopes,
                vendor=self.vendor,
            )
        super().__init__(settings, auth=auth, error_messages=error_messages, **options)

    async def check(self) -> None:
        """Read one listing: proves the token, the service root and read access."""
        await self.client.request("GET", "/Property", params={"$top": 1})

    async def read(
        self,
        entity: str,
        since: datetime | None = None,
        *,
        collections: Sequence[str] | None = None,
    ) -> AsyncIterator[SourceRecord | ReadFailure | ReadEnd]:
        """Each resource of the entity, page by page, then its ``ReadEnd``."""
        entities = {name: spec[0] for name, spec in RESOURCES.items()}
        for name in pick_collections(self.vendor, entity, collections, DEFAULT_READS, entities):
            stated: list[int | None] = []
            count = 0
            async for page in follow_links(
                self.client, f"/{name}", self._page(stated), params=self._params(since)
            ):
                for payload in page:
                    count += 1
                    yield self._record(name, payload)
            yield ReadEnd(name, stated[0] if stated else None, count)

    def _params(self, since: datetime | None) -> dict[str, Any]:
        params: dict[str, Any] = {"$top": self.settings.page_size or 100, "$count": "true"}
        if since is not None:
            params["$filter"] = f"ModificationTimestamp ge {_odata_time(since)}"
        return params

    def _page(self, stated: list[int | None]) -> Callable[[Any], tuple[list[Any], str | None]]:
        """What one page's body holds: its records and next link; the first page's
        ``@odata.count`` goes to ``stated``."""

        def page(body: Any) -> tuple[list[Any], str | None]:
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise ProtocolError("expected an OData collection (value)", vendor=self.vendor)
            if not stated:
                total = body.get("@odata.count")
                stated.append(total if isinstance(total, int) and total >= 0 else None)
            link = body.get("@odata.nextLink")
            return body["value"], link if isinstance(link, str) else None

        return page

    def _record(self, name: str, payload: Any) -> SourceRecord | ReadFailure:
        if not isinstance(payload, dict):
            return ReadFailure("?", f"malformed payload: not an object: {payload!r:.80}")
        _, key_field, mapper = RESOURCES[name]
        return safe_record(
            lambda: mapper(payload),
            str(payload.get(key_field)),
            parse_timestamp(payload.get("ModificationTimestamp")),
            payload,
        )

    async def write(
        self, entity: str, record: CanonicalRecord, known_ref: str | None
    ) -> WriteResult:
        """RESO Web API Core is read-only: no entity is written."""
        raise UnsupportedValue(f"RESO does not accept {entity!r} writes", vendor=self.vendor)

    async def lookup(
        self, entity: str, record: CanonicalRecord, *, by: str | None = None
    ) -> str | None:
        """Nothing is written, so nothing is looked up before a write."""
        raise UnsupportedValue("RESO is read-only: no look-ups", vendor=self.vendor)

    async def delete(self, entity: str, ref: str, *, deactivate: bool = False) -> None:
        """Nothing is deleted through the read API."""
        raise UnsupportedValue("RESO is read-only: no deletes", vendor=self.vendor)
