"""The experience API: each mode's configuration (a data file in `modes/`, validated at
load), merged with the workspace's overrides stored in its settings."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import NotFound, ValidationFailed
from core.principal import Principal
from core.validation import validation_failed
from models import Workspace
from models.enums import ActiveMode
from models.experience import FIXED_KEYS, ExperienceConfig
from services.changes import record_change

MODES_DIR = Path(__file__).parent / "modes"
SETTINGS_KEY = "experience"


@dataclass(frozen=True, slots=True)
class Experience:
    mode: str
    config: dict[str, Any]
    overridden: list[str]
    active: bool


@cache
def defaults() -> dict[str, ExperienceConfig]:
    """Every mode's configuration as shipped; a file that does not validate fails loudly."""
    configs: dict[str, ExperienceConfig] = {}
    for mode in ActiveMode:
        raw = json.loads((MODES_DIR / f"{mode.value}.json").read_text(encoding="utf-8"))
        config = ExperienceConfig.model_validate(raw)
        if config.mode != mode:
            raise ValueError(f"{mode.value}.json describes mode {config.mode.value}")
        configs[mode.value] = config
    return configs


def mode_of(name: str) -> ExperienceConfig:
    config = defaults().get(name)
    if config is None:
        raise NotFound(f"Mode {name} does not exist", details={"mode": name})
    return config


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _paths(overrides: dict[str, Any], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for key, value in sorted(overrides.items()):
        if isinstance(value, dict) and value:
            paths.extend(_paths(value, f"{prefix}{key}."))
        else:
            paths.append(prefix + key)
    return paths


def _stored(workspace: Workspace | None, mode: str) -> dict[str, Any]:
    stored = ((workspace.settings or {}) if workspace else {}).get(SETTINGS_KEY) or {}
    value = stored.get(mode) if isinstance(stored, dict) else None
    return value if isinstance(value, dict) else {}


def resolve(workspace: Workspace | None, mode: str) -> Experience:
    base = mode_of(mode).model_dump(mode="json")
    overrides = _stored(workspace, mode)
    return Experience(
        mode=mode,
        config=_merge(base, overrides),
        overridden=_paths(overrides),
        active=workspace is not None and workspace.active_mode == mode,
    )


def validate_overrides(mode: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides, once the defaults merged with them validate; unknown keys and wrong
    types are VALIDATION_ERROR naming the field."""
    fixed = sorted(FIXED_KEYS & overrides.keys())
    if fixed:
        raise ValidationFailed.field(fixed[0], "cannot be overridden")
    try:
        ExperienceConfig.model_validate(_merge(mode_of(mode).model_dump(mode="json"), overrides))
    except ValidationError as exc:
        raise validation_failed(exc) from None
    return overrides


async def _workspace(session: AsyncSession, actor: Principal) -> Workspace | None:
    return await session.get(Workspace, actor.workspace_id)


async def list_modes(*, session: AsyncSession, actor: Principal) -> list[Experience]:
    workspace = await _workspace(session, actor)
    return [resolve(workspace, mode) for mode in defaults()]


async def get_experience(*, session: AsyncSession, actor: Principal, mode: str) -> Experience:
    mode_of(mode)
    return resolve(await _workspace(session, actor), mode)


async def update_experience(
    *, session: AsyncSession, actor: Principal, mode: str, overrides: dict[str, Any]
) -> Experience:
    """Merge `overrides` into the workspace's overrides of `mode` (a null value removes
    that key's override), validated against the mode's model; audited."""
    mode_of(mode)
    workspace = await session.get(Workspace, actor.workspace_id, with_for_update=True)
    if workspace is None:
        raise NotFound.resource("Workspace", actor.workspace_id)
    before = _stored(workspace, mode)
    after = _drop_nulls(_merge(before, overrides))
    validate_overrides(mode, after)
    settings = dict(workspace.settings or {})
    stored = dict(settings.get(SETTINGS_KEY) or {})
    stored[mode] = after
    settings[SETTINGS_KEY] = stored
    workspace.settings = settings
    workspace.updated_at = datetime.now(UTC)
    session.add(workspace)
    await record_change(
        session=session,
        actor=actor,
        action="experience.updated",
        resource_type="workspace",
        resource_id=workspace.id,
        changes={"mode": mode, "from": before, "to": after},
        event={"mode": mode, "overridden": _paths(after)},
    )
    await session.flush()
    return resolve(workspace, mode)


def _drop_nulls(value: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, item in value.items():
        if item is None:
            continue
        if isinstance(item, dict):
            item = _drop_nulls(item)
            if not item:
                continue
        clean[key] = item
    return clean


async def sla_minutes(session: AsyncSession, actor: Principal) -> dict[str, int]:
    """The response SLA per severity of the workspace's active mode, overrides included."""
    workspace = await _workspace(session, actor)
    mode = workspace.active_mode if workspace else ActiveMode.EMERGENCY.value
    return dict(resolve(workspace, mode).config["sla_minutes"])
