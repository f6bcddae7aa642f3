"""The settings of one Jira site (a named connection), apart from the connector so that
the client and the settings model import it without importing the connector."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, model_validator


class JiraConnection(BaseModel):
    """Settings of one Jira site.

    Cloud authenticates with ``email`` + ``api_token`` (HTTP basic); Data Center with a
    personal access token ``pat`` (Bearer).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl
    flavour: Literal["cloud", "datacenter", "auto"] = "auto"
    email: str | None = None
    api_token: SecretStr | None = None
    pat: SecretStr | None = None
    concurrency: int = Field(4, ge=1, le=32)
    timeout: float = Field(30.0, gt=0)
    verify_tls: bool = True
    page_size: int = Field(100, ge=1, le=5000)
    estimate_field: str = Field(
        "Story Points",
        description="field holding an item's estimate (points); 'Story point estimate' "
        "is tried too when the default is missing (team-managed Cloud projects)",
    )

    @model_validator(mode="after")
    def _credentials(self) -> JiraConnection:
        if self.pat is None and (self.email is None or self.api_token is None):
            raise ValueError("give either 'pat' or both 'email' and 'api_token'")
        return self
