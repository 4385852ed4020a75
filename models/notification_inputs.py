"""Request shapes of the notification context."""

from __future__ import annotations

from pydantic import Field, field_validator

from core.validation import Body

TOPIC_PATTERN = r"^(\*|[a-z][a-z_]*\.[a-z][a-z_]*)$"


class WebhookCreate(Body):
    url: str = Field(min_length=1, max_length=2048)
    # Event types (`route.optimized`), or "*" for every topic.
    topics: list[str] = Field(min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=500)

    @field_validator("topics")
    @classmethod
    def _topics(cls, topics: list[str]) -> list[str]:
        import re

        for topic in topics:
            if not re.match(TOPIC_PATTERN, topic):
                raise ValueError(f"{topic!r} is not a topic (like route.optimized, or *)")
        return sorted(set(topics))
