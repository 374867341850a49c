"""The connector SDK: everything a connector plugin is written with, in one import.

A plugin imports from here (``from hub.sdk import HTTPConnector, ConnectorSettings, ...``) and
from :mod:`hub.conformance` in its tests, and from nowhere else in the hub: these names are
the supported surface, and :data:`CONTRACT_VERSION` says which version of it a plugin was
built for (the registry refuses a plugin built for another major version). The guide is
``docs/writing-a-connector.md``.

What is here, by job:

- **the contract** (:mod:`hub.connector`): ``Connector`` (the protocol: ``check``, ``read``,
  ``write``, ``lookup``, ``delete``), ``Capabilities``, ``SourceRecord``, ``ReadFailure``,
  ``ReadEnd``, ``WriteResult``/``WriteAction``, ``PreparesWrites``, ``ConnectorPlugin`` (what
  the ``prophub.connectors`` entry point names) and the helpers ``safe_record``,
  ``parse_timestamp`` and ``pick_collections``;
- **settings**: ``ConnectorSettings``, the base of a plugin's ``[connectors.NAME]`` table;
- **HTTP**: ``HTTPConnector`` (one ``VendorClient`` per connector: session, limits,
  retries, typed errors), ``ClientOptions``, ``Response`` and the error-body helpers;
- **auth strategies**: ``HeaderAuth`` (static header keys), ``BearerAuth`` (a static
  bearer token), ``OAuth2ClientCredentials`` (tokens fetched, cached, refreshed on 401);
- **paging**: ``OffsetLimit``, ``PageNumber``, ``SinglePage`` (for ``client.paginate``),
  ``follow_links`` (next links named in the body), ``ReadTally``;
- **rate limits and retries**: ``Limits``, ``RetryPolicy``, ``retry_delay``,
  ``parse_retry_after``;
- **errors** (:mod:`hub.errors`), each class meaning one thing to the engine: retry later
  (``TransientError``), dead-letter (``PermanentError``), write the parent first
  (``MissingParent``), look the record up before creating it again (``outcome_unknown``);
- **the canonical model** (:mod:`hub.models`) that mappings translate to and from;
- **the sandbox kit** (:mod:`hub.sandbox`): ``SandboxServer``, ``SandboxOptions``,
  ``FaultSettings``, ``Collection``, the query helpers and seeded fake data.

Names load on first use (PEP 562): importing the SDK costs nothing until a name is used, so
a plugin whose module only declares its ``ConnectorPlugin`` loads no HTTP stack to be listed.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.client.auth import (
        HeaderAuth,
        OAuth2ClientCredentials,
    )
    from hub.client.http_connector import (
        ClientOptions,
        HTTPConnector,
    )
    from hub.client.limits import (
        Limits,
    )
    from hub.client.observer import (
        RequestObserver,
    )
    from hub.client.paging import (
        OffsetLimit,
        Page,
        PageNumber,
        Paginator,
        ReadTally,
        SinglePage,
    )
    from hub.client.response import (
        ErrorMessages,
        Response,
        default_error_messages,
        json_object,
        list_body,
    )
    from hub.client.retry import (
        RetryPolicy,
        Sleep,
        parse_retry_after,
        retry_delay,
    )
    from hub.client.settings import (
        ConnectorSettings,
    )
    from hub.client.vendor import (
        VendorClient,
    )
    from hub.connector import (
        CONTRACT_VERSION,
        MALFORMED,
        Capabilities,
        Connector,
        ConnectorFactory,
        ConnectorPlugin,
        PreparesWrites,
        ReadEnd,
        ReadFailure,
        SandboxFactory,
        SourceRecord,
        WriteAction,
        WriteResult,
        parse_timestamp,
        pick_collections,
        safe_record,
    )
    from hub.errors import (
        AmbiguousMatch,
        AuthFailed,
        ConfigError,
        Conflict,
        ConnectionFailed,
        HubError,
        InvalidRecord,
        MappingError,
        MissingParent,
        NotFound,
        PaginationError,
        PermanentError,
        PermissionDenied,
        ProtocolError,
        RateLimited,
        RequestTimeout,
        ResponseTooLarge,
        TokenUnavailable,
        TransientError,
        Unavailable,
        UnsupportedValue,
        VendorError,
    )
    from hub.models import (
        ENTITIES,
        Address,
        CanonicalRecord,
        Document,
        Home,
        HomeownerType,
        HomeType,
        Location,
        LocationKind,
        Organization,
        OrganizationKind,
        Person,
        PersonRole,
        Phone,
        RoleKind,
        entity_of,
        json_schema,
        split_full_name,
    )
    from hub.sandbox.collection import (
        EPOCH,
        Collection,
    )
    from hub.sandbox.fake_data import (
        fake_address,
        fake_person,
        fake_words,
    )
    from hub.sandbox.options import (
        FaultSettings,
        SandboxOptions,
    )
    from hub.sandbox.query import (
        BadParameter,
        int_param,
        time_param,
    )
    from hub.sandbox.server import (
        SandboxServer,
    )
    from hub.sdk.auth import (
        BearerAuth,
    )
    from hub.sdk.paging import (
        LinkedPage,
        follow_links,
    )
    from hub.secrets import (
        mask,
        register_secret,
    )

#: each public name -> the module that defines it
_EXPORTS = {
    "CONTRACT_VERSION": "hub.connector",
    "MALFORMED": "hub.connector",
    "Capabilities": "hub.connector",
    "Connector": "hub.connector",
    "ConnectorFactory": "hub.connector",
    "ConnectorPlugin": "hub.connector",
    "PreparesWrites": "hub.connector",
    "ReadEnd": "hub.connector",
    "ReadFailure": "hub.connector",
    "SandboxFactory": "hub.connector",
    "SourceRecord": "hub.connector",
    "WriteAction": "hub.connector",
    "WriteResult": "hub.connector",
    "parse_timestamp": "hub.connector",
    "pick_collections": "hub.connector",
    "safe_record": "hub.connector",
    "ConnectorSettings": "hub.client.settings",
    "ClientOptions": "hub.client.http_connector",
    "HTTPConnector": "hub.client.http_connector",
    "VendorClient": "hub.client.vendor",
    "ErrorMessages": "hub.client.response",
    "Response": "hub.client.response",
    "default_error_messages": "hub.client.response",
    "json_object": "hub.client.response",
    "list_body": "hub.client.response",
    "HeaderAuth": "hub.client.auth",
    "OAuth2ClientCredentials": "hub.client.auth",
    "BearerAuth": "hub.sdk.auth",
    "OffsetLimit": "hub.client.paging",
    "Page": "hub.client.paging",
    "PageNumber": "hub.client.paging",
    "Paginator": "hub.client.paging",
    "ReadTally": "hub.client.paging",
    "SinglePage": "hub.client.paging",
    "LinkedPage": "hub.sdk.paging",
    "follow_links": "hub.sdk.paging",
    "Limits": "hub.client.limits",
    "RetryPolicy": "hub.client.retry",
    "Sleep": "hub.client.retry",
    "parse_retry_after": "hub.client.retry",
    "retry_delay": "hub.client.retry",
    "RequestObserver": "hub.client.observer",
    "AmbiguousMatch": "hub.errors",
    "AuthFailed": "hub.errors",
    "ConfigError": "hub.errors",
    "Conflict": "hub.errors",
    "ConnectionFailed": "hub.errors",
    "HubError": "hub.errors",
    "InvalidRecord": "hub.errors",
    "MappingError": "hub.errors",
    "MissingParent": "hub.errors",
    "NotFound": "hub.errors",
    "PaginationError": "hub.errors",
    "PermanentError": "hub.errors",
    "PermissionDenied": "hub.errors",
    "ProtocolError": "hub.errors",
    "RateLimited": "hub.errors",
    "RequestTimeout": "hub.errors",
    "ResponseTooLarge": "hub.errors",
    "TokenUnavailable": "hub.errors",
    "TransientError": "hub.errors",
    "Unavailable": "hub.errors",
    "UnsupportedValue": "hub.errors",
    "VendorError": "hub.errors",
    "mask": "hub.secrets",
    "register_secret": "hub.secrets",
    "ENTITIES": "hub.models",
    "Address": "hub.models",
    "CanonicalRecord": "hub.models",
    "Document": "hub.models",
    "Home": "hub.models",
    "HomeType": "hub.models",
    "HomeownerType": "hub.models",
    "Location": "hub.models",
    "LocationKind": "hub.models",
    "Organization": "hub.models",
    "OrganizationKind": "hub.models",
    "Person": "hub.models",
    "PersonRole": "hub.models",
    "Phone": "hub.models",
    "RoleKind": "hub.models",
    "entity_of": "hub.models",
    "json_schema": "hub.models",
    "split_full_name": "hub.models",
    "SandboxServer": "hub.sandbox.server",
    "FaultSettings": "hub.sandbox.options",
    "SandboxOptions": "hub.sandbox.options",
    "EPOCH": "hub.sandbox.collection",
    "Collection": "hub.sandbox.collection",
    "BadParameter": "hub.sandbox.query",
    "int_param": "hub.sandbox.query",
    "time_param": "hub.sandbox.query",
    "fake_address": "hub.sandbox.fake_data",
    "fake_person": "hub.sandbox.fake_data",
    "fake_words": "hub.sandbox.fake_data",
}

__all__ = [
    "CONTRACT_VERSION",
    "ENTITIES",
    "EPOCH",
    "MALFORMED",
    "Address",
    "AmbiguousMatch",
    "AuthFailed",
    "BadParameter",
    "BearerAuth",
    "CanonicalRecord",
    "Capabilities",
    "ClientOptions",
    "Collection",
    "ConfigError",
    "Conflict",
    "ConnectionFailed",
    "Connector",
    "ConnectorFactory",
    "ConnectorPlugin",
    "ConnectorSettings",
    "Document",
    "ErrorMessages",
    "FaultSettings",
    "HTTPConnector",
    "HeaderAuth",
    "Home",
    "HomeType",
    "HomeownerType",
    "HubError",
    "InvalidRecord",
    "Limits",
    "LinkedPage",
    "Location",
    "LocationKind",
    "MappingError",
    "MissingParent",
    "NotFound",
    "OAuth2ClientCredentials",
    "OffsetLimit",
    "Organization",
    "OrganizationKind",
    "Page",
    "PageNumber",
    "PaginationError",
    "Paginator",
    "PermanentError",
    "PermissionDenied",
    "Person",
    "PersonRole",
    "Phone",
    "PreparesWrites",
    "ProtocolError",
    "RateLimited",
    "ReadEnd",
    "ReadFailure",
    "ReadTally",
    "RequestObserver",
    "RequestTimeout",
    "Response",
    "ResponseTooLarge",
    "RetryPolicy",
    "RoleKind",
    "SandboxFactory",
    "SandboxOptions",
    "SandboxServer",
    "SinglePage",
    "Sleep",
    "SourceRecord",
    "TokenUnavailable",
    "TransientError",
    "Unavailable",
    "UnsupportedValue",
    "VendorClient",
    "VendorError",
    "WriteAction",
    "WriteResult",
    "default_error_messages",
    "entity_of",
    "fake_address",
    "fake_person",
    "fake_words",
    "follow_links",
    "int_param",
    "json_object",
    "json_schema",
    "list_body",
    "mask",
    "parse_retry_after",
    "parse_timestamp",
    "pick_collections",
    "register_secret",
    "retry_delay",
    "safe_record",
    "split_full_name",
    "time_param",
]


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use and keep the name here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hub.sdk' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    """The module's own names and the lazy public ones."""
    return sorted({*globals(), *__all__})
