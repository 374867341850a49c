"""A local Buildium API for the operations the hub uses, per Buildium's official OpenAPI document.

Paths, parameters, bodies, enums, required fields and status codes follow
``vendors/buildium/openapi.json``; the tests validate every exchange against it with
openapi-core. Lists page by ``offset``/``limit`` (1..1000, default 50) with ``X-Total-Count``,
filter by ``lastupdatedfrom``/``lastupdatedto`` and the id filters the connector needs, and sort
by ``orderby`` (``id`` ascending or ``id desc``). Errors are ``ApiErrorResponse`` bodies. The
spec marks nothing nullable, so a value the sandbox does not have is omitted, never ``null``.

Data is derived from the seed and an index: ``size`` association units in ``size / 20``
associations, one owner (and ownership account, same id) per unit, and as many rental units in
``size / 20`` rental properties, one rental owner per property and one tenant per rental unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from connectors.buildium.sandbox_data import (
    BATHROOMS,
    BEDROOMS,
    MANAGERS,
    SUBTYPES,
    seeded_collections,
)
from hub.sandbox.options import SandboxOptions
from hub.sandbox.query import BadParameter, int_param, time_param
from hub.sandbox.server import SandboxServer

__all__ = ["BuildiumSandbox"]

BANK_ACCOUNTS = frozenset({1, 2, 3})
MAILING = ("PrimaryAddress", "AlternateAddress")
#: per collection, the GET message fields a PUT replaces: each one the request omits is gone
#: afterwards (the document: "Any field not included in the update request will be set to
#: either an empty string or null")
REPLACED_BY_PUT = {
    "associations": (
        "Name", "Description", "YearBuilt", "OperatingBankAccountId", "OperatingBankAccount",
        "Reserve", "Address", "AssociationManager", "FiscalYearEndDay", "FiscalYearEndMonth",
    ),
    "association-units": ("UnitNumber", "UnitSize", "Address", "UnitBedrooms", "UnitBathrooms"),
    "association-owners": (
        "FirstName", "LastName", "PrimaryAddress", "AlternateAddress", "Email", "AlternateEmail",
        "PhoneNumbers", "EmergencyContact", "Comment", "MailingPreference", "TaxId",
    ),
    "rental-owners": (
        "FirstName", "LastName", "IsCompany", "CompanyName", "ManagementAgreementStartDate",
        "ManagementAgreementEndDate", "Email", "AlternateEmail", "PhoneNumbers", "Address",
        "Comment", "PropertyIds",
    ),
    "rentals": (
        "Name", "StructureDescription", "Address", "YearBuilt", "RentalSubType",
        "OperatingBankAccountId", "Reserve",
    ),
    "rental-units": (
        "UnitNumber", "Description", "MarketRent", "Address", "UnitBedrooms", "UnitBathrooms",
        "UnitSize",
    ),
}  # fmt: skip
#: the fields each request message may carry (the document's schemas): any other is refused,
#: as the hardest reading of a contract that does not say what an unknown field does
ADDRESS_MESSAGE = ("AddressLine1", "AddressLine2", "AddressLine3", "City", "State", "PostalCode",
                   "Country")  # fmt: skip
MESSAGES = {
    ("associations", "POST"): ("Name", "Description", "YearBuilt", "OperatingBankAccountId",
                               "Reserve", "Address", "IsActive", "PropertyManagerId",
                               "TaxInformation"),
    ("associations", "PUT"): ("Name", "Description", "YearBuilt", "OperatingBankAccountId",
                              "Reserve", "Address", "PropertyManagerId", "FiscalYearEndDay",
                              "FiscalYearEndMonth"),
    ("association-units", "POST"): ("AssociationId", "UnitNumber", "UnitSize", "Address",
                                    "UnitBedrooms", "UnitBathrooms"),
    ("association-units", "PUT"): ("UnitNumber", "UnitSize", "Address", "UnitBedrooms",
                                   "UnitBathrooms"),
    ("association-owners", "POST"): ("OwnershipAccountId", "SendWelcomeEmail", "PrimaryAddress",
                                     "AlternateAddress", "FirstName", "LastName",
                                     "BoardMemberTerm", "IsOwnerOccupied", "Email",
                                     "AlternateEmail", "PhoneNumbers", "DateOfBirth",
                                     "EmergencyContact", "Comment", "MailingPreference", "TaxId"),
    ("association-owners", "PUT"): ("FirstName", "LastName", "PrimaryAddress", "AlternateAddress",
                                    "Email", "AlternateEmail", "PhoneNumbers", "EmergencyContact",
                                    "Comment", "MailingPreference", "TaxId"),
    ("ownership-accounts", "POST"): ("UnitId", "DateOfPurchase", "AssociationFee",
                                     "RecurringFrequency", "AssociationOwnerIds",
                                     "AssociationOwners", "SendWelcomeEmail",
                                     "ReplaceExistingOwnershipAccount"),
    ("ownership-accounts", "PUT"): ("DateOfPurchase",),
    ("rental-owners", "POST"): ("FirstName", "LastName", "IsCompany", "CompanyName",
                                "DateOfBirth", "ManagementAgreementStartDate",
                                "ManagementAgreementEndDate", "Email", "AlternateEmail",
                                "PhoneNumbers", "Address", "Comment", "PropertyIds",
                                "TaxInformation"),
    ("rental-owners", "PUT"): ("FirstName", "LastName", "IsCompany", "CompanyName", "DateOfBirth",
                               "ManagementAgreementStartDate", "ManagementAgreementEndDate",
                               "Email", "AlternateEmail", "PhoneNumbers", "Address", "Comment",
                               "PropertyIds"),
}  # fmt: skip


class ApiProblem(Exception):
    """An error answer in Buildium's ApiErrorResponse shape."""

    def __init__(
        self, status: int, message: str, code: str, errors: Iterable[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.errors = status, message, code, list(errors)


def _invalid(errors: list[tuple[str, str]]) -> ApiProblem:
    return ApiProblem(422, "Validation failed", "ValidationError", errors)


def _required(
    body: Mapping[str, Any], names: Iterable[str], prefix: str = ""
) -> list[tuple[str, str]]:
    return [
        (f"{prefix}{n}", f"The {n} field is required.") for n in names if body.get(n) in (None, "")
    ]


def _enum(body: Mapping[str, Any], name: str, allowed: Iterable[str]) -> list[tuple[str, str]]:
    value = body.get(name)
    if value is None or value in allowed:
        return []
    return [(name, f"The value '{value}' is not valid for {name}.")]


def _address_errors(body: Mapping[str, Any], name: str) -> list[tuple[str, str]]:
    address = body.get(name)
    if address is None:
        return []
    if not isinstance(address, dict):
        return [(name, f"The {name} field is invalid.")]
    errors = _required(address, ("AddressLine1", "Country"), f"{name}.")
    if address.get("Country") not in (None, "UnitedStates") and not isinstance(
        address.get("Country"), str
    ):
        errors.append((f"{name}.Country", "The Country field is invalid."))
    return errors


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BuildiumSandbox(SandboxServer):
    """Buildium's associations, rentals, owners and tenants on loopback."""

    vendor = "buildium"
    default_credentials = {
        "client_id": "buildium-sandbox-client",
        "client_secret": "buildium-sandbox-secret",
    }

    def __init__(
        self, options: SandboxOptions | None = None, credentials: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(options, credentials)
        #: an API key whose role may read but not write (Buildium answers 403)
        self.read_only = bool(self.options.extra.get("read_only", False))
        self.collections = seeded_collections(self.options.size, self.options.seed)

    # -- plumbing ------------------------------------------------------------------------------

    def error_response(self, status: int, message: str) -> web.Response:
        """Buildium's ApiErrorResponse."""
        code = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 429: "TooManyRequests"}
        return web.json_response(
            {
                "UserMessage": message,
                "ErrorCode": code.get(status, "InternalServerError"),
                "Errors": [],
            },
            status=status,
        )

    def _problem(self, problem: ApiProblem) -> web.Response:
        return web.json_response(
            {
                "UserMessage": problem.message,
                "ErrorCode": problem.code,
                "Errors": [{"Key": k, "Value": v} for k, v in problem.errors],
            },
            status=problem.status,
        )

    def connector_table(self) -> dict[str, Any]:
        """A connector config table pointing at this sandbox."""
        return {
            "type": "buildium",
            "base_url": self.base_url,
            "client_id": self.credentials["client_id"],
            "client_secret": self.credentials["client_secret"],
        }

    def _guard(self, handler: Callable[[web.Request], Any]) -> Any:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if (
                request.headers.get("x-buildium-client-id") != self.credentials["client_id"]
                or request.headers.get("x-buildium-client-secret")
                != self.credentials["client_secret"]
            ):
                return self.error_response(401, "Authorization has been denied for this request.")
            if request.method != "GET" and self.read_only:
                return self.error_response(403, "The API key does not have write permission.")
            try:
                response: web.StreamResponse = await handler(request)
                return response
            except ApiProblem as problem:
                return self._problem(problem)
            except BadParameter as bad:
                return self._problem(
                    ApiProblem(
                        400,
                        f"The {bad.name} parameter must be {bad.expected}.",
                        "InvalidParameter",
                        [(bad.name, f"The value '{bad.raw}' is not valid.")],
                    )
                )

        return guarded

    def add_routes(self, app: web.Application) -> None:
        """The implemented operations, paths exactly as in the spec."""
        routes = (
            ("/v1/associations", "associations", "{associationId}", self._save_association),
            ("/v1/associations/units", "association-units", "{unitId}", self._save_unit),
            ("/v1/associations/owners", "association-owners", "{ownerId}", self._save_owner),
            (
                "/v1/associations/ownershipaccounts",
                "ownership-accounts",
                "{ownershipAccountId}",
                self._save_account,
            ),
            ("/v1/rentals", "rentals", "{propertyId}", self._save_rental),
            ("/v1/rentals/units", "rental-units", "{unitId}", self._save_rental_unit),
            ("/v1/rentals/owners", "rental-owners", "{rentalOwnerId}", self._save_rental_owner),
            ("/v1/leases/tenants", "tenants", "{tenantId}", None),
        )
        for path, name, var, save in routes:
            app.router.add_get(path, self._guard(self._lister(name)))
            app.router.add_get(f"{path}/{var}", self._guard(self._getter(name, var)))
            if save is not None:
                app.router.add_post(path, self._guard(self._creator(name, save)))
                app.router.add_put(f"{path}/{var}", self._guard(self._updater(name, var, save)))

    # -- generic handlers ----------------------------------------------------------------------

    def _lister(self, name: str) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            query = request.query
            offset = int_param(query, "offset", 0, 0)
            limit = int_param(query, "limit", 50, 1, 1000)
            since = time_param(query, "lastupdatedfrom")
            until = time_param(query, "lastupdatedto")
            ids = self._filtered_ids(name, query, since, until)
            pairs, total = self.collections[name].page_items(offset, limit, since, until, ids)
            body = [record for _, record in pairs]
            return web.json_response(body, headers={"X-Total-Count": str(total)})

        return handler

    def _filtered_ids(
        self, name: str, query: Mapping[str, str], since: datetime | None, until: datetime | None
    ) -> list[int] | None:
        collection = self.collections[name]
        order = query.get("orderby", "id").strip().lower()
        if order not in ("id", "id asc", "id desc"):
            raise ApiProblem(
                400,
                f"orderby '{query['orderby']}' is not supported",
                "InvalidParameter",
                [("orderby", "Unsupported sort field.")],
            )
        filters = self._filters(name, query)
        if not filters and order != "id desc":
            return None
        ids = [
            i
            for i in collection.ids(since, until)
            if all(test(collection.get(i) or {}) for test in filters)
        ]
        return ids[::-1] if order == "id desc" else ids

    def _filters(
        self, name: str, query: Mapping[str, str]
    ) -> list[Callable[[dict[str, Any]], bool]]:
        tests: list[Callable[[dict[str, Any]], bool]] = []
        if "associationids" in query:
            wanted = _ids(query, "associationids")
            if name in ("association-owners",):
                tests.append(
                    lambda r: any(
                        a.get("AssociationId") in wanted for a in r.get("OwnershipAccounts", [])
                    )
                )
            else:
                tests.append(lambda r: r.get("AssociationId") in wanted)
        if "propertyids" in query:
            props = _ids(query, "propertyids")
            if name in ("rental-owners",):
                tests.append(lambda r: bool(props & set(r.get("PropertyIds", []))))
            elif name == "tenants":
                tests.append(
                    lambda r: any(lease.get("PropertyId") in props for lease in r.get("Leases", []))
                )
            else:
                tests.append(lambda r: r.get("PropertyId", r.get("Id")) in props)
        if "email" in query:
            # "Filters results to only records whose email *contains* the specified value."
            email = query["email"].lower()
            tests.append(lambda r: email in str(r.get("Email") or "").lower())
        names = [query[k] for k in ("name", "ownername") if k in query]
        if names:
            needle = names[0].lower()
            tests.append(
                lambda r: (
                    needle
                    in str(r.get("Name") or f"{r.get('FirstName')} {r.get('LastName')}").lower()
                )
            )
        return tests

    def _getter(self, name: str, var: str) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            record_id = _path_id(request, var)
            record = self.collections[name].get(record_id)
            if record is None:
                raise ApiProblem(404, "The requested resource was not found.", "NotFound")
            return web.json_response(record)

        return handler

    async def _json(self, request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise ApiProblem(
                415, "The request content type is not supported.", "UnsupportedMediaType"
            )
        try:
            body = await request.json()
        except ValueError:
            raise ApiProblem(400, "The request body could not be parsed.", "BadRequest") from None
        if not isinstance(body, dict):
            raise ApiProblem(400, "The request body must be a JSON object.", "BadRequest")
        return body

    def _creator(
        self, name: str, save: Callable[..., dict[str, Any]]
    ) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            body = await self._json(request)
            _known_fields(body, MESSAGES.get((name, "POST")))
            record = self.collections[name].create(lambda i: save(body, i, None))
            return web.json_response(record, status=201)

        return handler

    def _updater(
        self, name: str, var: str, save: Callable[..., dict[str, Any]]
    ) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            record_id = _path_id(request, var)
            current = self.collections[name].get(record_id)
            if current is None:
                raise ApiProblem(404, "The requested resource was not found.", "NotFound")
            body = await self._json(request)
            _known_fields(body, MESSAGES.get((name, "PUT")))
            # A PUT replaces: what the request omits is gone, not kept from before.
            kept = {k: v for k, v in current.items() if k not in REPLACED_BY_PUT.get(name, ())}
            record = self.collections[name].put(record_id, save(body, record_id, kept))
            return web.json_response(record)

        return handler

    # -- validation and storage per message ----------------------------------------------------

    def _check(self, errors: list[tuple[str, str]]) -> None:
        if errors:
            raise _invalid(errors)

    def _save_association(
        self, body: dict[str, Any], i: int, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        required = ["Address", "Name", "OperatingBankAccountId"]
        if current is not None:
            required += ["FiscalYearEndDay", "FiscalYearEndMonth"]
        self._check(_required(body, required) + _address_errors(body, "Address"))
        if body["OperatingBankAccountId"] not in BANK_ACCOUNTS:
            raise ApiProblem(404, "The operating bank account was not found.", "NotFound")
        kept = _pick(
            body,
            (
                "Name",
                "Description",
                "YearBuilt",
                "Reserve",
                "Address",
                "OperatingBankAccountId",
                "FiscalYearEndDay",
                "FiscalYearEndMonth",
                "IsActive",
            ),
        )
        base = current or {
            "Id": i,
            "IsActive": True,
            "FiscalYearEndDay": 31,
            "FiscalYearEndMonth": 12,
        }
        manager = body.get("PropertyManagerId")
        if manager is not None:
            if manager not in MANAGERS:
                raise ApiProblem(404, "The property manager was not found.", "NotFound")
            kept["AssociationManager"] = MANAGERS[manager]
        return {**base, **kept, "OperatingBankAccount": "Operating"}

    def _save_unit(
        self, body: dict[str, Any], i: int, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        required = ["Address", "UnitNumber"] + (["AssociationId"] if current is None else [])
        self._check(
            _required(body, required)
            + _address_errors(body, "Address")
            + _enum(body, "UnitBedrooms", BEDROOMS)
            + _enum(body, "UnitBathrooms", BATHROOMS)
        )
        association_id = body.get("AssociationId") if current is None else current["AssociationId"]
        association = self.collections["associations"].get(int(association_id or 0))
        if association is None:
            raise ApiProblem(404, "The association was not found.", "NotFound")
        kept = _pick(body, ("UnitNumber", "UnitSize", "Address", "UnitBedrooms", "UnitBathrooms"))
        base = current or {"Id": i, "AssociationId": association_id}
        return {**base, **kept, "AssociationName": association["Name"]}

    def _save_owner(
        self, body: dict[str, Any], i: int, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        required = ["FirstName", "LastName", "PrimaryAddress"]
        if current is None:
            required += ["IsOwnerOccupied", "OwnershipAccountId", "SendWelcomeEmail"]
        self._check(
            _required(body, required)
            + _address_errors(body, "PrimaryAddress")
            + _enum(body, "MailingPreference", MAILING)
        )
        base = current
        if base is None:
            accounts = self.collections["ownership-accounts"]
            account_id = int(body["OwnershipAccountId"])
            account = accounts.get(account_id)
            if account is None:
                raise ApiProblem(404, "The ownership account was not found.", "NotFound")
            account = {**account, "AssociationOwnerIds": [*account["AssociationOwnerIds"], i]}
            accounts.put(account_id, account)
            base = {
                "Id": i,
                "CreatedDateTime": _stamp(datetime.now(UTC)),
                "DelinquencyStatus": "NoDelinquency",
                "OccupiesUnit": bool(body["IsOwnerOccupied"]),
                "OwnershipAccounts": [account],
            }
        kept = _pick(
            body,
            (
                "FirstName",
                "LastName",
                "Email",
                "AlternateEmail",
                "PrimaryAddress",
                "AlternateAddress",
                "EmergencyContact",
                "Comment",
                "MailingPreference",
                "TaxId",
            ),
        )
        phones = _phones(body.get("PhoneNumbers"))
        return {**base, **kept, **({"PhoneNumbers": phones} if phones is not None else {})}

    def _save_account(
        self, body: dict[str, Any], i: int, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        """An ownership account (POST: with its new owners; PUT: the purchase date only)."""
        if current is not None:
            self._check(_required(body, ["DateOfPurchase"]))
            return {**current, "DateOfPurchase": body["DateOfPurchase"]}
        self._check(
            _required(
                body,
                ["UnitId", "DateOfPurchase", "SendWelcomeEmail", "ReplaceExistingOwnershipAccount"],
            )
        )
        unit = self.collections["association-units"].get(int(body["UnitId"]))
        if unit is None:
            raise ApiProblem(404, "The unit was not found.", "NotFound")
        owner_ids = [int(o) for o in body.get("AssociationOwnerIds") or []]
        owners = self.collections["association-owners"]
        if any(owners.get(o) is None for o in owner_ids):
            raise ApiProblem(404, "The association owner was not found.", "NotFound")
        account = {
            "Id": i,
            "AssociationId": unit["AssociationId"],
            "UnitId": unit["Id"],
            "Status": "Active",
            "DateOfPurchase": body["DateOfPurchase"],
            "AssociationOwnerIds": owner_ids,
            "DelinquencyStatus": "NoDelinquency",
        }
        for new in body.get("AssociationOwners") or []:
            self._check(
                _required(new, ["FirstName", "LastName", "PrimaryAddress", "IsOwnerOccupied"])
                + _address_errors(new, "PrimaryAddress")
            )

            def owner(oid: int, new: dict[str, Any] = new) -> dict[str, Any]:
                return {
                    **_pick(new, MESSAGES[("association-owners", "PUT")]),
                    "Id": oid,
                    "PhoneNumbers": _phones(new.get("PhoneNumbers")) or [],
                    "CreatedDateTime": _stamp(datetime.now(UTC)),
                    "DelinquencyStatus": "NoDelinquency",
                    "OccupiesUnit": bool(new["IsOwnerOccupied"]),
                    "OwnershipAccounts": [account],
                }

            created = owners.create(owner)
            account["AssociationOwnerIds"].append(created["Id"])
        return account

    def _save_rental(
        self, body: dict[str, Any], i: int, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        self._check(
            _required(body, ["Address", "Name", "OperatingBankAccountId", "RentalSubType"])
            + _address_errors(body, "Address")
            + _enum(
                body,
                "RentalSubType",
                (
                    *SUBTYPES,
                    "Industrial",
                    "Office",
                    "Retail",
                    "ShoppingCenter",
                    "Storage",
                    "ParkingSpace",
                ),
            )
        )
        kept = _pick(
            body,
            (
                "Name",
                "StructureDescription",
                "Address",
                "YearBuilt",
                "RentalSubType",
                "OperatingBankAccountId",
                "Reserve",
            ),
        )
        base = current or {"Id": i, "IsActive": True, "NumberUnits": 0, "RentalType": "Residential"}
        return {**base, **kept}

    def _save_rental_unit(
        self, body: dict[str, Any], i: int, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        required = ["Address", "UnitNumber"] + (["PropertyId"] if current is None else [])
        self._check(
            _required(body, required)
            + _address_errors(body, "Address")
            + _enum(body, "UnitBedrooms", BEDROOMS)
            + _enum(body, "UnitBathrooms", BATHROOMS)
        )
        prop = body.get("PropertyId") if current is None else current["PropertyId"]
        if self.collections["rentals"].get(int(prop or 0)) is None:
            raise ApiProblem(404, "The rental property was not found.", "NotFound")
        kept = _pick(
            body,
            (
                "UnitNumber",
                "Description",
                "MarketRent",
                "Address",
                "UnitBedrooms",
                "UnitBathrooms",
                "UnitSize",
            ),
        )
        base = current or {
            "Id": i,
            "PropertyId": prop,
            "IsUnitListed": False,
            "IsUnitOccupied": False,
        }
        return {**base, **kept}

    def _save_rental_owner(
        self, body: dict[str, Any], i: int, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        self._check(
            _required(body, ["Address", "IsCompany", "PropertyIds"])
            + _address_errors(body, "Address")
        )
        missing = [
            p for p in body["PropertyIds"] if self.collections["rentals"].get(int(p)) is None
        ]
        if missing:
            raise ApiProblem(404, f"The rental property {missing[0]} was not found.", "NotFound")
        kept = _pick(
            body,
            (
                "FirstName",
                "LastName",
                "IsCompany",
                "CompanyName",
                "Email",
                "AlternateEmail",
                "Address",
                "Comment",
                "ManagementAgreementStartDate",
                "ManagementAgreementEndDate",
                "PropertyIds",
            ),
        )
        phones = _phones(body.get("PhoneNumbers"))
        base = current or {"Id": i, "IsActive": True}
        return {**base, **kept, **({"PhoneNumbers": phones} if phones is not None else {})}


def _known_fields(body: Mapping[str, Any], allowed: Iterable[str] | None) -> None:
    """Refuse a request body field its message does not define."""
    if allowed is None:
        return
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise _invalid([(name, f"The {name} field is not recognised.") for name in unknown])


def _pick(body: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The fields of a message the sandbox stores."""
    return {name: body[name] for name in names if name in body}


def _phones(value: Any) -> list[dict[str, str]] | None:
    """A PhoneNumbersMessage (Home/Work/Mobile/Fax) as stored PhoneNumberMessage items."""
    if not isinstance(value, dict):
        return None
    kinds = {"Home": "Home", "Work": "Office", "Mobile": "Cell", "Fax": "Fax"}
    return [{"Number": str(value[k]), "Type": t} for k, t in kinds.items() if value.get(k)]




def _ids(query: Mapping[str, str], name: str) -> set[int]:
    raw = ",".join(query.getall(name)) if hasattr(query, "getall") else query[name]
    try:
        return {int(part) for part in raw.split(",") if part.strip()}
    except ValueError:
        raise ApiProblem(
            400,
            f"The {name} parameter must list integers.",
            "InvalidParameter",
            [(name, f"The value '{raw}' is not valid.")],
        ) from None


def _path_id(request: web.Request, var: str) -> int:
    raw = request.match_info[var.strip("{}")]
    if not raw.isdigit():
        raise ApiProblem(400, "The identifier is not valid.", "InvalidParameter")
    return int(raw)
