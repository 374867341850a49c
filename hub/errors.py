"""The hub's one error tree, split by what the caller does next.

::

    HubError
    ├── ConfigError (ValueError)              bad configuration: fix the file, exit 2
    ├── MappingError (ValueError)             a payload the mapping cannot translate
    ├── PaginationError                       a paginator saw the same cursor twice
    └── VendorError                           anything a vendor call can end in
        ├── TransientError                    worth retrying later
        │   ├── RateLimited                   429; carries retry_after
        │   ├── Unavailable                   5xx
        │   │   └── TokenUnavailable          the token endpoint failed: no call can be made
        │   ├── ConnectionFailed (ConnectionError)
        │   └── RequestTimeout (TimeoutError)
        ├── PermanentError                    retrying will not help
        │   ├── AuthFailed                    401
        │   ├── PermissionDenied              403
        │   ├── NotFound                      404
        │   │   └── MissingParent             404 for the parent of a record being written
        │   ├── Conflict                      409 (a duplicate external id)
        │   ├── AmbiguousMatch                several records match a natural key: no guess
        │   ├── InvalidRecord (ValueError)    400 / 415 / 422: the vendor rejected the input
        │   └── UnsupportedValue (ValueError) the target cannot hold a canonical value
        └── ProtocolError                     the answer is not what the vendor documents:
            │                                 HTML page, truncated JSON, wrong envelope, ...
            └── ResponseTooLarge              past the connector's response size limit

Every ``VendorError`` carries the vendor, method, path (never a query string, so never a
credential), status and the vendor's own messages. ``outcome_unknown`` is true when a create
may have taken effect although it failed (timeout, dropped connection, 5xx): the caller must
look the record up before creating it again.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.secrets import mask

__all__ = [
    "EDITED_COPY",
    "PARKED",
    "REFUSED",
    "AmbiguousMatch",
    "AuthFailed",
    "ConfigError",
    "Conflict",
    "ConnectionFailed",
    "HubError",
    "InvalidRecord",
    "MappingError",
    "MissingParent",
    "NotFound",
    "PaginationError",
    "PermanentError",
    "PermissionDenied",
    "ProtocolError",
    "RateLimited",
    "RequestTimeout",
    "ResponseTooLarge",
    "TokenUnavailable",
    "TransientError",
    "Unavailable",
    "UnsupportedValue",
    "VendorError",
    "error_for_status",
]


#: what the hub does next with a record an error stopped (a dead letter's category)
PARKED = "parked"  # its cause may pass (an outage, a missing parent): each run tries again
REFUSED = "refused"  # retrying will not help: kept until it changes or `prophub dlq retry`
EDITED_COPY = "edited-copy"  # an edit to the hub's own copy its origin refuses: reported once


class HubError(Exception):
    """Root of every error the hub raises on purpose."""

    #: the category of a dead letter this error makes (see ``PARKED``, ``REFUSED``)
    category = REFUSED


class ConfigError(HubError, ValueError):
    """The configuration is invalid; ``str()`` is one line naming the file, key and problem."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        prefix = ": ".join(p for p in (path, key) if p)
        super().__init__(mask(f"{prefix}: {message}" if prefix else message))


class MappingError(HubError, ValueError):
    """A payload could not be translated between a vendor and the canonical model."""

    def __init__(self, message: str, *, vendor: str = "", entity: str = "") -> None:
        self.vendor = vendor
        self.entity = entity
        super().__init__(mask(message))


class PaginationError(HubError):
    """A paginator was asked to fetch the same page twice (a loop)."""


class VendorError(HubError):
    """A vendor call failed; carries enough context to act on without the secrets."""

    retryable = False
    #: every call of this connector would fail the same way (its credentials or token
    #: endpoint): a run stops writing to it rather than retrying record by record
    connector_wide = False

    def __init__(
        self,
        message: str = "",
        *,
        vendor: str = "",
        method: str = "",
        path: str = "",
        status: int | None = None,
        messages: Sequence[str] = (),
        request_id: str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        self.vendor = vendor
        self.method = method
        self.path = path
        self.status = status
        # Masked as the error is built: a vendor may echo a credential or token back.
        self.messages = [mask(m) for m in messages]
        self.request_id = request_id
        self.outcome_unknown = outcome_unknown
        self.message = mask(message or type(self).__name__)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return mask(self._text())

    def _text(self) -> str:
        where = " ".join(p for p in (self.vendor, self.method, self.path) if p)
        parts = [f"{where}:" if where else "", self.message]
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        if self.messages:
            parts.append("- " + "; ".join(self.messages))
        if self.outcome_unknown:
            parts.append("[outcome unknown: look the record up before creating it again]")
        return " ".join(p for p in parts if p)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[VendorError], message: str, state: dict[str, object]) -> VendorError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, message)
    return err


class TransientError(VendorError):
    """A fault that may pass: retry later."""

    retryable = True
    category = PARKED


class RateLimited(TransientError):
    """The vendor answered 429; ``retry_after`` is its requested pause in seconds, if any."""

    def __init__(
        self, message: str = "", *, retry_after: float | None = None, **kw: object
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class Unavailable(TransientError):
    """The vendor answered 5xx."""


class TokenUnavailable(Unavailable):
    """The token endpoint answered 5xx or could not be reached, after the retry policy."""

    connector_wide = True


class ConnectionFailed(TransientError, ConnectionError):
    """The connection could not be made or was dropped."""


class RequestTimeout(TransientError, TimeoutError):
    """No complete answer arrived within the timeout."""


class PermanentError(VendorError):
    """Retrying the same request will not help."""


class AuthFailed(PermanentError):
    """401: credentials missing, wrong or expired."""

    connector_wide = True


class PermissionDenied(PermanentError):
    """403: the credentials lack a permission or scope."""


class NotFound(PermanentError):
    """404: the addressed record does not exist."""


class MissingParent(NotFound):
    """404 for the parent of the record being written; the engine may create the parent
    (unless ``repairable`` is False: a parent the hub cannot write there, which only the
    vendor's own users can make)."""

    category = PARKED

    def __init__(self, message: str = "", *, repairable: bool = True, **kw: object) -> None:
        self.repairable = repairable
        super().__init__(message, **kw)  # type: ignore[arg-type]


class Conflict(PermanentError):
    """409: a record with this external id already exists."""


class AmbiguousMatch(PermanentError):
    """More than one record at the target matches a natural key exactly; ``candidates`` are
    their ids. The record is dead-lettered: a guess could overwrite someone else's data."""

    def __init__(self, message: str = "", *, candidates: Sequence[str] = (), **kw: object) -> None:
        self.candidates = list(candidates)
        kw.setdefault("messages", [f"candidates: {', '.join(self.candidates)}"])
        super().__init__(message, **kw)  # type: ignore[arg-type]


class InvalidRecord(PermanentError, ValueError):
    """400/415/422: the vendor rejected the input; ``messages`` say why."""


class UnsupportedValue(PermanentError, ValueError):
    """The target vendor cannot hold a canonical value (reported, never silently dropped)."""


class ProtocolError(VendorError):
    """The vendor answered something its contract does not allow (HTML, truncated JSON, ...)."""

    #: whether asking again may bring a good answer (a truncated body may; one nested past
    #: any sane depth, or too large to hold, will not)
    worth_retrying = True

    def __init__(self, message: str = "", *, worth_retrying: bool = True, **kw: object) -> None:
        self.worth_retrying = worth_retrying and type(self).worth_retrying
        # An answer that may read right next time parks its record; one that cannot refuses.
        self.category = PARKED if self.worth_retrying else REFUSED
        super().__init__(message, **kw)  # type: ignore[arg-type]


class ResponseTooLarge(ProtocolError):
    """The answer's body passed the connector's ``max_response_bytes``; it was not kept."""

    worth_retrying = False


_BY_STATUS: dict[int, type[VendorError]] = {
    400: InvalidRecord,
    401: AuthFailed,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: InvalidRecord,
    415: InvalidRecord,
    422: InvalidRecord,
    429: RateLimited,
}


def error_for_status(status: int) -> type[VendorError]:
    """Pick the error class for an HTTP error status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return Unavailable
    return PermanentError if 400 <= status < 500 else ProtocolError
