"""Buildium's enums and the canonical values they stand for."""

from __future__ import annotations

from hub.models import HomeType

__all__ = [
    "BATHROOMS",
    "BEDROOMS",
    "COUNTRIES",
    "PHONE_FIELDS",
    "PHONE_TYPES",
    "PHONE_TYPE_FIELDS",
    "STATE_NAMES",
    "SUBTYPES",
    "UNKNOWN_COUNTRY",
    "VENDOR",
]

VENDOR = "buildium"

BEDROOMS: dict[str, int | None] = {
    "NotSet": None,
    "Studio": 0,
    "OneBed": 1,
    "TwoBed": 2,
    "ThreeBed": 3,
    "FourBed": 4,
    "FiveBed": 5,
    "SixBed": 6,
    "SevenBed": 7,
    "EightBed": 8,
    "NineBedPlus": 9,
}
BATHROOMS: dict[str, float | None] = {
    "NotSet": None,
    "OneBath": 1.0,
    "OnePointFiveBath": 1.5,
    "TwoBath": 2.0,
    "TwoPointFiveBath": 2.5,
    "ThreeBath": 3.0,
    "ThreePointFiveBath": 3.5,
    "FourBath": 4.0,
    "FourPointFiveBath": 4.5,
    "FiveBath": 5.0,
    "FivePlusBath": 5.5,
}
SUBTYPES: dict[str, HomeType] = {
    "SingleFamily": HomeType.SINGLE_FAMILY,
    "MultiFamily": HomeType.MULTI_FAMILY,
    "CondoTownhome": HomeType.CONDO_TOWNHOME,
}
COUNTRIES: dict[str, str] = {
    "UnitedStates": "US",
    "Canada": "CA",
    "Mexico": "MX",
    "PuertoRico": "PR",
    "UnitedKingdom": "GB",
}
PHONE_TYPES: dict[str, str] = {
    "Cell": "mobile",
    "Home": "home",
    "Office": "work",
    "Fax": "fax",
    "Personal": "mobile",
    "Other": "other",
    "NotSet": "other",
}
#: canonical phone kind -> PhoneNumbersMessage field for writes
PHONE_FIELDS = {"home": "Home", "work": "Work", "mobile": "Mobile", "fax": "Fax"}
#: a GET PhoneNumberMessage Type -> the PUT PhoneNumbersMessage field that holds it
PHONE_TYPE_FIELDS = {"Home": "Home", "Office": "Work", "Cell": "Mobile", "Fax": "Fax"}
#: Buildium accepts a state or province by name as well as by abbreviation
STATE_NAMES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI",
    "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ",
    "new mexico": "NM", "new york": "NY", "north carolina": "NC", "north dakota": "ND",
    "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "puerto rico": "PR",
    "guam": "GU", "american samoa": "AS", "virgin islands": "VI",
    "northern mariana islands": "MP",
    # Canada's provinces and territories
    "alberta": "AB", "british columbia": "BC", "manitoba": "MB", "new brunswick": "NB",
    "newfoundland and labrador": "NL", "nova scotia": "NS", "ontario": "ON",
    "prince edward island": "PE", "quebec": "QC", "saskatchewan": "SK",
    "northwest territories": "NT", "nunavut": "NU", "yukon": "YT",
}  # fmt: skip
#: the canonical code of a country Buildium names but the hub does not
UNKNOWN_COUNTRY = "ZZ"
