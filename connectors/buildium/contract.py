"""The OpenAPI document's rules on the request messages the connector sends.

Shared by the sandbox, which answers a message that breaks one with a 422, and the connector,
which refuses such a record instead of sending it. Each check returns ``(field, message)``
pairs, empty for a message that keeps the rules; what the document says is quoted beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "ADDRESS_LINE_LENGTH",
    "CA_PROVINCES",
    "COUNTRIES",
    "PHONE_KINDS",
    "PHONE_LENGTH",
    "UNIT_NUMBER_LENGTH",
    "US_STATES",
    "Errors",
    "address_errors",
    "message_errors",
    "phone_errors",
    "phone_fits",
    "rental_owner_errors",
    "too_long",
]

Errors = list[tuple[str, str]]

#: SaveAddressMessage.Country: "Must be a valid `Country` enumeration value" (the document's
#: enum; a test holds it to the document)
COUNTRIES = frozenset({
    "Afghanistan", "Akrotiri", "Albania", "Algeria", "AmericanSamoa", "Andorra", "Angola",
    "Anguilla", "Antarctica", "AntiguaandBarbuda", "Argentina", "Armenia", "Aruba",
    "AshmoreandCartierIslands", "Australia", "Austria", "Azerbaijan", "Bahamas", "Bahrain",
    "Bangladesh", "Barbados", "BassasdaIndia", "Belarus", "Belgium", "Belize", "Benin",
    "Bermuda", "Bhutan", "Bolivia", "BosniaandHerzegovina", "Botswana", "BouvetIsland",
    "Brazil", "BritishIndianOceanTerritory", "BritishVirginIslands", "Brunei", "Bulgaria",
    "BurkinaFaso", "Burma", "Burundi", "Cambodia", "Cameroon", "Canada", "CapeVerde",
    "CaymanIslands", "CentralAfricanRepublic", "Chad", "Chile", "China", "ChristmasIsland",
    "ClippertonIsland", "CocosIslands", "Colombia", "Comoros", "DemocraticRepublicOfTheCongo",
    "RepublicOfTheCongo", "CookIslands", "CoralSeaIslands", "CostaRica", "CotedIvoire",
    "Croatia", "Cuba", "Cyprus", "CzechRepublic", "Denmark", "Dhekelia", "Djibouti", "Dominica",
    "DominicanRepublic", "Ecuador", "Egypt", "ElSalvador", "EquatorialGuinea", "Eritrea",
    "Estonia", "Ethiopia", "EuropaIsland", "FalklandIslands", "FaroeIslands", "Fiji", "Finland",
    "France", "FrenchGuiana", "FrenchPolynesia", "FrenchSouthernandAntarcticLands", "Gabon",
    "Gambia", "GazaStrip", "Georgia", "Germany", "Ghana", "Gibraltar", "GloriosoIslands",
    "Greece", "Greenland", "Grenada", "Guadeloupe", "Guam", "Guatemala", "Guernsey", "Guinea",
    "GuineaBissau", "Guyana", "Haiti", "HeardIslandandMcDonaldIslands", "VaticanCity",
    "Honduras", "HongKong", "Hungary", "Iceland", "India", "Indonesia", "Iran", "Iraq",
    "Ireland", "IsleofMan", "Israel", "Italy", "Jamaica", "JanMayen", "Japan", "Jersey",
    "Jordan", "JuandeNovaIsland", "Kazakhstan", "Kenya", "Kiribati", "NorthKorea", "SouthKorea",
    "Kuwait", "Kyrgyzstan", "Laos", "Latvia", "Lebanon", "Lesotho", "Liberia", "Libya",
    "Liechtenstein", "Lithuania", "Luxembourg", "Macau", "Macedonia", "Madagascar", "Malawi",
    "Malaysia", "Maldives", "Mali", "Malta", "MarshallIslands", "Martinique", "Mauritania",
    "Mauritius", "Mayotte", "Mexico", "Micronesia", "Moldova", "Monaco", "Mongolia",
    "Montserrat", "Morocco", "Mozambique", "Namibia", "Nauru", "NavassaIsland", "Nepal",
    "Netherlands", "NetherlandsAntilles", "NewCaledonia", "NewZealand", "Nicaragua", "Niger",
    "Nigeria", "Niue", "NorfolkIsland", "NorthernMarianaIslands", "Norway", "Oman", "Pakistan",
    "Palau", "Panama", "PapuaNewGuinea", "ParacelIslands", "Paraguay", "Peru", "Philippines",
    "PitcairnIslands", "Poland", "Portugal", "PuertoRico", "Qatar", "Reunion", "Romania",
    "Russia", "Rwanda", "SaintHelena", "SaintKittsandNevis", "SaintLucia",
    "SaintPierreandMiquelon", "SaintVincentandtheGrenadines", "Samoa", "SanMarino",
    "SaoTomeandPrincipe", "SaudiArabia", "Senegal", "SerbiaandMontenegro", "Seychelles",
    "SierraLeone", "Singapore", "Slovakia", "Slovenia", "SolomonIslands", "Somalia",
    "SouthAfrica", "SouthGeorgiaandtheSouthSandwichIslands", "Spain", "SpratlyIslands",
    "SriLanka", "Sudan", "Suriname", "Svalbard", "Swaziland", "Sweden", "Switzerland", "Syria",
    "Taiwan", "Tajikistan", "Tanzania", "Thailand", "TimorLeste", "Togo", "Tokelau", "Tonga",
    "TrinidadandTobago", "TromelinIsland", "Tunisia", "Turkey", "Turkmenistan",
    "TurksandCaicosIslands", "Tuvalu", "Uganda", "Ukraine", "UnitedArabEmirates",
    "UnitedKingdom", "UnitedStates", "Uruguay", "Uzbekistan", "Vanuatu", "Venezuela", "Vietnam",
    "VirginIslands", "WakeIsland", "WallisandFutuna", "WestBank", "WesternSahara", "Yemen",
    "Zambia", "Zimbabwe",
})  # fmt: skip
#: SaveAddressMessage.State "must be a valid state name or abbreviation" when the country is
#: ``UnitedStates``: the fifty states, read strictly (DC, the territories and military codes
#: are not states, and the territories are countries of their own in the enum)
US_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA",
    "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
    "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS",
    "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV", "new hampshire": "NH",
    "new jersey": "NJ", "new mexico": "NM", "new york": "NY", "north carolina": "NC",
    "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
}  # fmt: skip
#: "If the value is `Canada` this value must be a valid Canadian province": the ten
#: provinces by name or abbreviation, as for a US state (the three territories are not provinces)
CA_PROVINCES = {
    "alberta": "AB", "british columbia": "BC", "manitoba": "MB", "new brunswick": "NB",
    "newfoundland and labrador": "NL", "nova scotia": "NS", "ontario": "ON",
    "prince edward island": "PE", "quebec": "QC", "saskatchewan": "SK",
}  # fmt: skip
#: "This value cannot exceed 100 characters" (AddressLine1-3 and City)
ADDRESS_LINE_LENGTH = 100
#: PhoneNumbersMessage: "If provided, must be between 10 and 20 characters"
PHONE_LENGTH = (10, 20)
PHONE_KINDS = ("Home", "Work", "Mobile", "Fax")
#: UnitNumber "cannot exceed 30 characters" (association and rental units, POST and PUT)
UNIT_NUMBER_LENGTH = 30
_REGIONS = {"UnitedStates": ("state", US_STATES), "Canada": ("Canadian province", CA_PROVINCES)}


def _known_region(value: str, names: Mapping[str, str]) -> bool:
    # A name matches whatever its case or spacing; an abbreviation only as one.
    return " ".join(value.lower().split()) in names or value.strip().upper() in names.values()


def address_errors(body: Mapping[str, Any], name: str) -> Errors:
    """The errors of the message's SaveAddressMessage field ``name``, when it has one."""
    address = body.get(name)
    if address is None:
        return []
    if not isinstance(address, Mapping):
        return [(name, f"The {name} field is invalid.")]
    errors = [
        (f"{name}.{n}", f"The {n} field is required.")
        for n in ("AddressLine1", "Country")
        if address.get(n) in (None, "")
    ]
    errors += too_long(address, ("AddressLine1", "AddressLine2", "AddressLine3", "City"),
                       ADDRESS_LINE_LENGTH, f"{name}.")  # fmt: skip
    country = address.get("Country")
    if country not in (None, "") and country not in COUNTRIES:
        errors.append((f"{name}.Country", f"The value '{country}' is not valid for Country."))
    state = address.get("State")
    region = _REGIONS.get(country) if isinstance(country, str) else None
    if region is not None and state not in (None, ""):
        what, names = region
        if not isinstance(state, str) or not _known_region(state, names):
            errors.append((f"{name}.State", f"The value '{state}' is not a valid {what}."))
    return errors


def phone_fits(number: str) -> bool:
    """Whether a phone number has a length the PhoneNumbersMessage accepts."""
    low, high = PHONE_LENGTH
    return low <= len(number) <= high


def phone_errors(body: Mapping[str, Any], name: str = "PhoneNumbers") -> Errors:
    """The errors of the message's PhoneNumbersMessage field, when it has one."""
    numbers = body.get(name)
    if numbers is None:
        return []
    if not isinstance(numbers, Mapping):
        return [(name, f"The {name} field is invalid.")]
    low, high = PHONE_LENGTH
    return [
        (f"{name}.{kind}", f"The {kind} phone number must be between {low} and {high} characters.")
        for kind in PHONE_KINDS
        if numbers.get(kind) not in (None, "")
        and not (isinstance(numbers[kind], str) and phone_fits(numbers[kind]))
    ]


def too_long(
    body: Mapping[str, Any], names: tuple[str, ...], limit: int, prefix: str = ""
) -> Errors:
    """An error for each named text field longer than ``limit`` characters."""
    return [
        (f"{prefix}{n}", f"The {n} field cannot exceed {limit} characters.")
        for n in names
        if isinstance(body.get(n), str) and len(body[n]) > limit
    ]


def rental_owner_errors(body: Mapping[str, Any]) -> Errors:
    """A RentalOwnerPostMessage's or PutMessage's rules beyond its required fields."""
    errors: Errors = []
    properties = body.get("PropertyIds")
    if properties is not None and not isinstance(properties, list):
        errors.append(("PropertyIds", "The PropertyIds field is invalid."))
    elif properties == []:
        errors.append(("PropertyIds", "At least one property ID must be provided."))
    # "Required if `IsCompany` is `false`" / "Required if `IsCompany` is `true`"
    company = body.get("IsCompany")
    needed = ("CompanyName",) if company is True else ("FirstName", "LastName")
    if company in (True, False):
        errors += [
            (n, f"The {n} field is required when IsCompany is {str(company).lower()}.")
            for n in needed
            if body.get(n) in (None, "")
        ]
    return errors


def _owner_errors(body: Mapping[str, Any]) -> Errors:
    return (
        address_errors(body, "PrimaryAddress")
        + address_errors(body, "AlternateAddress")
        + phone_errors(body)
    )


#: per path the connector POSTs to (a PUT: the path and an id), its message's rules here
_WRITTEN: dict[str, Callable[[Mapping[str, Any]], Errors]] = {
    "/v1/associations": lambda b: address_errors(b, "Address"),
    "/v1/associations/units": lambda b: (
        too_long(b, ("UnitNumber",), UNIT_NUMBER_LENGTH) + address_errors(b, "Address")
    ),
    "/v1/associations/owners": _owner_errors,
    "/v1/rentals/owners": lambda b: (
        rental_owner_errors(b) + address_errors(b, "Address") + phone_errors(b)
    ),
}


def message_errors(path: str, body: Mapping[str, Any]) -> Errors:
    """The errors of a message the connector writes to ``path`` (its collection's, for a PUT
    to one record), by the rules above."""
    rules = _WRITTEN.get(path) or _WRITTEN.get(path.rpartition("/")[0])
    return rules(body) if rules is not None else []
