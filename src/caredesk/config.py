"""Settings, read from the environment (prefix ``CAREDESK_``) and an optional ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREDESK_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/caredesk.db"
    # Empty means "in-process Huey on SQLite"; set it to scale out with `caredesk worker`.
    redis_url: str = ""
    # PostgreSQL connections per process: kept open (a smaller pool opened and closed a server
    # process on most bursts of the 40 request threads) + extra under load. Connections open
    # on demand; keep processes x (both) under the server's max_connections.
    db_pool_size: int = Field(default=15, ge=1, le=500)
    db_max_overflow: int = Field(default=5, ge=0, le=500)
    jobs_path: str = "var/jobs.db"
    jobs_immediate: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = Field(default="dev-insecure-change-me", min_length=8)
    # Seals channel credentials at rest; falls back to secret_key. Old keys, for rotation.
    secrets_key: str = ""
    previous_secrets_keys: list[str] = Field(default_factory=list)
    secure_cookies: bool = False
    raw_payload_retention_days: int = 90
    max_webhook_bytes: int = 1_000_000
    # A webhook account read from the database is trusted this long per process (0: never).
    webhook_account_cache_seconds: float = 5.0
    public_base_url: str = "http://127.0.0.1:8000"
    # The sentiment refiner (an int8 transformer for the English posts the linear head is
    # unsure of): airline macro-F1 0.785 -> 0.810, ~2.8x the triage time. Off: heads only.
    triage_refiner: bool = True
    log_level: str = "info"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        return Path(self.database_url.split("///", 1)[1])


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
