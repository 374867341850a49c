"""Builder Backed homes: read, and written with their required fields and homeDetails."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from hub.errors import MappingError, UnsupportedValue
from hub.models import (
    Address,
    Home,
    HomeType,
)
from mappings.builder_backed.homeowners import from_homeowner, to_homeowner
from mappings.builder_backed.tables import (
    HOME_TYPE_NAMES,
    HOME_TYPES,
    VENDOR,
    log,
)
from mappings.builder_backed.values import optional_text, required_field

__all__ = ["from_home", "home_details", "to_home"]


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        return date.fromisoformat(str(value)[:10])


def _home_type(raw: Any) -> tuple[HomeType, str | None]:
    if raw in HOME_TYPES:
        return HOME_TYPES[raw], None
    log.warning("unknown home type", vendor=VENDOR, value=raw)
    return HomeType.OTHER, None if raw is None else str(raw)


def to_home(payload: Mapping[str, Any]) -> Home:
    """A home payload (with its homeowners) as a Home."""
    external_id = str(required_field(payload, "externalId"))
    home_type, raw = _home_type(payload.get("type"))
    try:
        return Home(
            key=external_id,
            address=Address(
                line1=required_field(payload, "addressLine1"),
                line2=optional_text(payload, "addressLine2"),
                city=required_field(payload, "city"),
                state=required_field(payload, "state"),
                postal_code=required_field(payload, "postalCode"),
            ),
            home_type=home_type,
            home_type_raw=raw,
            model=optional_text(payload, "model"),
            product_collection=optional_text(payload, "productCollection"),
            job_id=optional_text(payload, "jobId"),
            market_home=bool(payload.get("marketHome", False)),
            closing_date=_date(payload.get("closingDate")),
            scheduled_closing_date=_date(payload.get("scheduledClosingDate")),
            details=dict(payload.get("homeDetails") or {}),
            neighborhood_key=optional_text(payload, "neighborhoodExternalId"),
            homeowners=[to_homeowner(h, external_id) for h in payload.get("homeowners") or []],
        )
    except ValueError as exc:
        raise MappingError(f"home {external_id}: {exc}", vendor=VENDOR, entity="home") from exc


def home_details(home: Home, details_keys: Mapping[str, str] | None) -> dict[str, Any]:
    """The ``homeDetails`` of a home: only the configured keys that have a value, renamed.

    ``details_keys`` maps a canonical name (a key of ``home.details``, or one of
    ``HOME_FIELDS``, whose raw text stands in for a count the source could not read) to the
    Builder Backed key it is sent as; a home's own detail wins over a field of the same name.
    """
    if not details_keys:
        return {}
    offered: dict[str, Any] = {
        # A count the source could not read as a number is still what it says (kept raw).
        "bedrooms": home.bedrooms if home.bedrooms is not None else home.bedrooms_raw,
        "bathrooms": home.bathrooms if home.bathrooms is not None else home.bathrooms_raw,
        "square_feet": home.square_feet,
        **home.details,
    }
    return {
        target: offered[name]
        for name, target in details_keys.items()
        if offered.get(name) is not None
    }


def from_home(
    home: Home,
    fallback_type: str | None = None,
    external_id: str | None = None,
    details_keys: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Home as a create/update body; types Builder Backed cannot hold, and missing required
    fields, are reported before anything is sent. ``details_keys``: see :func:`home_details`."""
    vendor_type = HOME_TYPE_NAMES.get(str(home.home_type)) or fallback_type
    if vendor_type is None:
        raise UnsupportedValue(
            f"{home.key}: home type {home.home_type.value!r} has no Builder Backed equivalent "
            "(only Single Family / Multi Family); set home_type_fallback to map it",
            vendor=VENDOR,
        )
    address = home.address
    required = {
        "addressLine1": address.line1,
        "city": address.city,
        "state": address.state,
        "postalCode": address.postal_code,
        "neighborhoodExternalId": home.neighborhood_key,
    }
    # externalId is always there, and type was settled above: the rest of the guide's list.
    missing = [name for name, value in required.items() if value in (None, "")]
    if missing:
        raise UnsupportedValue(
            f"{home.key}: Builder Backed requires {', '.join(map(repr, missing))} on a home,"
            " and this home has none",
            vendor=VENDOR,
        )
    # Field for field in this order (bench/run.py sends the same bytes; a test holds them
    # equal); one body per home written, so only what has a value is sent.
    body: dict[str, Any] = {
        "externalId": external_id or home.key,
        "addressLine1": address.line1,
        "city": address.city,
        "type": vendor_type,
        "neighborhoodExternalId": home.neighborhood_key,
        "marketHome": home.market_home,
    }
    optional = (
        ("addressLine2", address.line2),
        ("state", address.state),
        ("postalCode", address.postal_code),
        ("jobId", home.job_id),
        ("productCollection", home.product_collection),
        ("model", home.model),
    )
    for name, value in optional:
        if value is not None:
            body[name] = value
    if home.closing_date:
        body["closingDate"] = home.closing_date.isoformat()
    if home.scheduled_closing_date:
        body["scheduledClosingDate"] = home.scheduled_closing_date.isoformat()
    details = home_details(home, details_keys)
    if details:
        body["homeDetails"] = details
    if home.homeowners:
        body["homeowners"] = [from_homeowner(p) for p in home.homeowners]
    return body
