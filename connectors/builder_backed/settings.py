"""Builder Backed's connector settings: ``[connectors.NAME]`` for ``type = "builder_backed"``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from hub.client.settings import ConnectorSettings

__all__ = ["BuilderBackedSettings"]


class BuilderBackedSettings(ConnectorSettings):
    """``[connectors.NAME]`` for ``type = "builder_backed"``."""

    type: Literal["builder_backed"] = "builder_backed"
    token_url: str | None = None
    client_id: str
    client_secret: SecretStr
    scopes: list[str] = Field(
        default_factory=lambda: ["location.write", "home.write", "document.write"]
    )
    page_size: int | None = Field(default=100, ge=1, le=500)
    page_param: str = "page"
    page_size_param: str = "pageSize"
    updated_since_param: str = "updatedSince"
    home_type_fallback: Literal["Single Family", "Multi Family"] | None = None
    #: the homeDetails keys configured for this builder's account: canonical name (a home
    #: detail, or bedrooms / bathrooms / square_feet) -> Builder Backed key; a list keeps names
    details_keys: dict[str, str] = Field(default_factory=dict)
    #: not in the guide beyond its path: where, in what shape, and how a homeowner changes
    homeowners_path: str = "/api/v2/homes/{externalHomeId}/users"
    homeowners_body: Literal["array", "object"] = "array"
    #: "unknown": what a repeated POST answers is not in the guide, so the home is read first
    #: and a homeowner already on it is never POSTed; "conflict": a repeat answers 409 (as
    #: for locations), so a new homeowner costs one request and a 409 resolves to them
    homeowner_repeat: Literal["unknown", "conflict"] = "unknown"
    #: "home": a changed homeowner is sent by PUTting the home with its homeowners;
    #: "refuse": the change is a dead letter (the guide documents no homeowner update)
    homeowner_update: Literal["home", "refuse"] = "home"

    @field_validator("details_keys", mode="before")
    @classmethod
    def _keys_as_names(cls, value: Any) -> Any:
        return {name: name for name in value} if isinstance(value, list) else value
