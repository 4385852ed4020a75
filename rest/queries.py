"""Query-string shapes shared by list endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from core.validation import Body
from models.fleet_inputs import BoundingBox


class ListQuery(Body):
    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=20, ge=1, le=100)
    search: str | None = Field(default=None, max_length=100)
    bbox: BoundingBox | None = Field(default=None, description="min_lng,min_lat,max_lng,max_lat")

    @field_validator("bbox", mode="before")
    @classmethod
    def _bbox(cls, value: Any) -> Any:
        return BoundingBox.parse(value) if isinstance(value, str) else value
