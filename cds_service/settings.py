"""Service configuration, read from `CDS_*` environment variables (pydantic-settings).

Production is the default (authentication required); the sandbox switches it off explicitly
(`make run` sets `CDS_AUTH=off`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class TrustedIssuer(BaseModel):
    """One EHR allowed to call the service: where its public keys are, and which `jku` to follow."""

    jwks: str = Field(description="https URL of the issuer's JWK Set, or a path to a JWKS file")
    jku: list[str] = Field(default_factory=list, description="jku URLs that may be followed")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CDS_", extra="ignore")

    auth: Literal["required", "off"] = "required"
    trusted_issuers: dict[str, TrustedIssuer] = Field(default_factory=dict)
    public_url: str = "http://127.0.0.1:8080"
    jwt_max_age_seconds: int = 300
    jwt_leeway_seconds: int = 30
    jwks_cache_seconds: int = 3600

    database_url: str = "sqlite+aiosqlite:///./var/baclofen-cds.db"
    auto_migrate: bool = True
    # PostgreSQL connections per worker process: pool_size kept open, max_overflow more under load.
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    profile: str | None = None  # required in production: no silent regulatory default
    fhir_timeout_seconds: float = 2.0
    fhir_max_pages: int = 20
    #: hosts whose fhirServer may be plain http (loopback always may); any other needs https
    fhir_http_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    fhir_page_size: int = Field(default=200, ge=1, le=1000)
    max_body_bytes: int = 2_000_000
    max_header_bytes: int = Field(default=65_536, ge=4096)
    max_draft_orders: int = Field(default=100, ge=1)
    max_prefetch_entries: int = Field(default=10_000, ge=1)
    request_timeout_seconds: float = 10.0
    pseudonym_key: str = "sandbox-only-pseudonymisation-key"
    retention_days: int = 365
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    otel_endpoint: str | None = None
    #: when set, `/metrics` answers only `Authorization: Bearer <this token>` (else 401)
    metrics_token: str | None = None
    workers: int = 1
    fixtures_dir: str | None = None
    terminology_dir: str = "./var/terminology"  # holds bdpm-index.json (`terminology import-bdpm`)
    formulary: str | None = None  # hospital formulary CSV (UCD, local codes)
    drug_code_systems: str | None = None  # extra URI=cis|cip|ucd aliases, comma-separated

    @field_validator("trusted_issuers", mode="before")
    @classmethod
    def _parse_issuers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @field_validator("cors_origins", "fhir_http_allowed_hosts", mode="before")
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @property
    def sandbox(self) -> bool:
        return self.auth == "off"

    @property
    def profile_name(self) -> str | None:
        """The rule profile to load: `CDS_PROFILE`, else the sandbox default; None in production
        without `CDS_PROFILE` (start-up refuses: the hospital must choose its regulatory frame)."""
        if self.profile:
            return self.profile
        return SANDBOX_PROFILE if self.sandbox else None


SANDBOX_PROFILE = "rtu-2014"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
