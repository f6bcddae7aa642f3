"""The settings of one Teambition organization (a named connection), apart from the
connector so that the HTTP client and the settings model import it without a loop."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr


class TeambitionConnection(BaseModel):
    """Settings of one Teambition organization reached through one app."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: HttpUrl = HttpUrl("https://open.teambition.com/api")
    app_id: str = Field(min_length=1)
    app_secret: SecretStr
    tenant_id: str = Field(min_length=1, description="organization id, sent as X-Tenant-Id")
    operator_id: str | None = Field(None, description="user id sent as X-Operator-Id")
    concurrency: int = Field(4, ge=1, le=32)
    timeout: float = Field(30.0, gt=0)
    # Teambition allows 40 requests/second per app, organization and endpoint; stay under.
    requests_per_second: float = Field(30.0, gt=0, le=40)
    page_size: int = Field(100, ge=1, le=1000)
