"""Buildium field values: ids and keys, text, enums, addresses, phones and emails.

The pieces every read and write of a Buildium record is built from; a value that cannot be
read is a ``MappingError`` naming its field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import structlog

from hub.errors import MappingError, UnsupportedValue
from hub.models import Address, Phone
from mappings.buildium.tables import (
    COUNTRIES,
    PHONE_FIELDS,
    PHONE_TYPES,
    STATE_NAMES,
    UNKNOWN_COUNTRY,
    VENDOR,
)

__all__ = [
    "address_at",
    "address_fields",
    "emails_of",
    "enum_value",
    "from_address",
    "id_of",
    "key",
    "objects_at",
    "phone_fields",
    "phones_of",
    "raw_unknown",
    "text_of",
    "to_address",
    "wrapped",
]

log = structlog.get_logger("mappings.buildium")
T = TypeVar("T")


def key(collection: str, record_id: Any) -> str:
    """The canonical key of a Buildium record."""
    return f"{VENDOR}:{collection}:{record_id}"


def id_of(payload: Mapping[str, Any]) -> int:
    """A record's integer Id; a MappingError when it has none."""
    value = payload.get("Id")
    if not isinstance(value, int):
        raise MappingError(f"missing or non-integer Id: {value!r}", vendor=VENDOR)
    return value


def text_of(payload: Mapping[str, Any] | None, name: str) -> str | None:
    """A field as trimmed text; None for a missing, null or blank one."""
    return _clean((payload or {}).get(name))


def _clean(value: Any) -> str | None:
    """A vendor value as trimmed text; None for null and blank."""
    return str(value).strip() or None if value is not None else None


def enum_value(table: Mapping[str, Any], value: Any, what: str) -> Any:
    """The canonical value of a Buildium enum value; None (and a warning) for an unknown one."""
    if value is None:
        return None
    if value in table:
        return table[value]
    log.warning("unknown enum value", vendor=VENDOR, field=what, value=value)
    return None


def raw_unknown(table: Mapping[str, Any], value: Any) -> str | None:
    """A value outside an enum table, kept raw (None for known values and nulls)."""
    return str(value) if value is not None and value not in table else None


def to_address(payload: Mapping[str, Any] | None) -> Address | None:
    """An AddressMessage as an Address (None when there is none)."""
    return address_at(payload, "Address")


def address_at(payload: Any, field: str) -> Address | None:
    """An address field's AddressMessage as an Address, the field named in errors."""
    fields = address_fields(payload, field)
    return Address(**fields) if fields is not None else None


def address_fields(payload: Any, field: str = "Address") -> dict[str, Any] | None:
    """An AddressMessage as Address fields, left for the record's own validation to check."""
    if payload is None:
        return None
    if not isinstance(payload, Mapping):
        raise MappingError(f"{field}: expected an object, got {_kind(payload)}", vendor=VENDOR)
    if not payload.get("AddressLine1"):
        return None
    country_raw = _clean(payload.get("Country"))
    kept_raw = None
    if country_raw is None:
        country = "US"  # Buildium's own default, for records saved before Country existed
    elif country_raw in COUNTRIES:
        country = COUNTRIES[country_raw]
    else:
        country, kept_raw = UNKNOWN_COUNTRY, country_raw
    get = payload.get
    state = _clean(get("State"))
    if state is not None:
        state = STATE_NAMES.get(" ".join(state.lower().split()), state)
    return {
        "line1": str(payload["AddressLine1"]),
        "line2": _clean(get("AddressLine2")),
        "line3": _clean(get("AddressLine3")),
        "city": _clean(get("City")) or "",
        "state": state,
        "postal_code": _clean(get("PostalCode")),
        "country": country,
        "country_raw": kept_raw,
    }


def from_address(address: Address) -> dict[str, Any]:
    """An Address as a SaveAddressMessage."""
    countries = {v: k for k, v in COUNTRIES.items()}
    country = address.country_raw or countries.get(address.country)
    if country is None:
        raise UnsupportedValue(
            f"Buildium has no country for the code {address.country!r}", vendor=VENDOR
        )
    body = {
        "AddressLine1": address.line1,
        "AddressLine2": address.line2,
        "AddressLine3": address.line3,
        "City": address.city,
        "State": address.state,
        "PostalCode": address.postal_code,
        "Country": country,
    }
    return {k: v for k, v in body.items() if v is not None}


def _kind(value: Any) -> str:
    names: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}
    return names.get(type(value), type(value).__name__)


def objects_at(value: Any, field: str) -> list[Mapping[str, Any]]:
    """A list of objects, or a MappingError naming the field that is not one."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(f"{field}: expected a list, got {_kind(value)}", vendor=VENDOR)
    for item in value:
        if not isinstance(item, Mapping):
            raise MappingError(
                f"{field}: expected a list of objects, got {_kind(item)} in it", vendor=VENDOR
            )
    return value


def phones_of(items: Any) -> list[Phone]:
    """A PhoneNumbers list as Phones, kinds from their Type."""
    phones = []
    for item in objects_at(items, "PhoneNumbers"):
        number = text_of(item, "Number")
        if number:
            kind = PHONE_TYPES.get(str(item.get("Type")), "other")
            phones.append(Phone(number=number, kind=kind))
    return phones


def phone_fields(phones: list[Phone]) -> dict[str, str] | None:
    """Phones as a PhoneNumbersMessage: the first number of each kind it has a field for."""
    fields: dict[str, str] = {}
    for phone in phones:
        name = PHONE_FIELDS.get(phone.kind)
        if name and name not in fields:
            fields[name] = phone.number
    return fields or None


def emails_of(payload: Mapping[str, Any]) -> list[str]:
    """A record's Email and AlternateEmail, those it has."""
    return [e for e in (text_of(payload, "Email"), text_of(payload, "AlternateEmail")) if e]


def wrapped(entity: str, what: str, build: Callable[[], T]) -> T:
    """The record ``build`` makes, a validation error named after ``what`` as a MappingError."""
    try:
        return build()
    except ValueError as exc:
        if str(exc).startswith(what):
            raise
        raise MappingError(f"{what}: {exc}", vendor=VENDOR, entity=entity) from exc
