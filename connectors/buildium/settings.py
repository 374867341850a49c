"""Buildium's connector settings: ``[connectors.NAME]`` for ``type = "buildium"``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from hub.client.settings import ConnectorSettings

__all__ = ["BuildiumSettings"]


class BuildiumSettings(ConnectorSettings):
    """``[connectors.NAME]`` for ``type = "buildium"``."""

    type: Literal["buildium"] = "buildium"
    client_id: str
    client_secret: SecretStr
    rate_limit: float = Field(default=10.0, ge=0)  # Buildium allows 10 per second; 0: none
    page_size: int | None = Field(default=1000, ge=1, le=1000)
    operating_bank_account_id: int = 1
