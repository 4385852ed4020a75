"""Driver profiles: a user of role `driver`, optionally assigned to one vehicle."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from core.crypto import field_cipher
from core.errors import Conflict, NotFound, ValidationFailed
from core.pagination import CursorRequest, Page, PageRequest
from core.principal import Principal
from models import Driver, User, Vehicle
from models.enums import UserRole
from models.fleet_inputs import DriverCreate, DriverUpdate
from services.audit import diff
from services.changes import record_change
from services.listing import paginate, violated_constraint


def _snapshot(driver: Driver) -> dict[str, Any]:
    return {
        "user_id": str(driver.user_id),
        "vehicle_id": str(driver.vehicle_id) if driver.vehicle_id else None,
        "license_number": driver.license_number,
        "license_expiry": driver.license_expiry.isoformat() if driver.license_expiry else None,
        "phone": driver.phone,
        "availability": driver.availability,
        "rating": driver.rating,
    }


async def get_driver(*, session: AsyncSession, actor: Principal, driver_id: UUID) -> Driver:
    driver = await session.get(Driver, driver_id)
    if driver is None:
        raise NotFound.resource("Driver", driver_id)
    return driver


async def _check_assignment(
    session: AsyncSession, vehicle_id: UUID | None, license_expiry: date | None
) -> None:
    if vehicle_id is None:
        return
    vehicle = await session.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.deleted_at is not None:
        raise NotFound.resource("Vehicle", vehicle_id)
    if license_expiry is not None and license_expiry < datetime.now(UTC).date():
        raise ValidationFailed.field(
            "vehicle_id", "a driver with an expired licence cannot be assigned"
        )


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        constraint = violated_constraint(exc)
        if constraint == "idx_drivers_vehicle":
            raise Conflict(
                "That vehicle already has a driver", details={"field": "vehicle_id"}
            ) from None
        if constraint == "idx_drivers_user":
            raise Conflict(
                "That user already has a driver profile", details={"field": "user_id"}
            ) from None
        raise


async def create_driver(*, session: AsyncSession, actor: Principal, data: DriverCreate) -> Driver:
    user = await session.get(User, data.user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound.resource("User", data.user_id)
    if user.role != UserRole.DRIVER:
        raise ValidationFailed.field("user_id", "the user's role must be driver")
    await _check_assignment(session, data.vehicle_id, data.license_expiry)
    driver = Driver(workspace_id=actor.workspace_id, **data.model_dump())
    driver.license_number_index = license_index(driver.license_number)
    session.add(driver)
    await _flush(session)
    snapshot = _snapshot(driver)
    await record_change(
        session=session,
        actor=actor,
        action="driver.created",
        resource_type="driver",
        resource_id=driver.id,
        changes=snapshot,
    )
    await session.refresh(driver)
    return driver


async def update_driver(
    *, session: AsyncSession, actor: Principal, driver_id: UUID, data: DriverUpdate
) -> Driver:
    driver = await get_driver(session=session, actor=actor, driver_id=driver_id)
    before = _snapshot(driver)
    fields = data.model_dump(exclude_unset=True)
    for key in ("license_number", "availability", "rating"):
        if key in fields and fields[key] is None:
            raise ValidationFailed.field(key, "cannot be null")
    for key, value in fields.items():
        setattr(driver, key, value)
    driver.license_number_index = license_index(driver.license_number)
    if "vehicle_id" in fields or "license_expiry" in fields:
        await _check_assignment(session, driver.vehicle_id, driver.license_expiry)
    driver.updated_at = datetime.now(UTC)
    session.add(driver)
    await _flush(session)
    changes = diff(before, _snapshot(driver))
    await record_change(
        session=session,
        actor=actor,
        action="driver.updated",
        resource_type="driver",
        resource_id=driver.id,
        changes=changes,
        event={"changes": changes},
    )
    await session.refresh(driver)
    return driver


async def delete_driver(*, session: AsyncSession, actor: Principal, driver_id: UUID) -> None:
    """Removes the profile (the user account stays)."""
    driver = await get_driver(session=session, actor=actor, driver_id=driver_id)
    snapshot = _snapshot(driver)
    await session.delete(driver)
    await record_change(
        session=session,
        actor=actor,
        action="driver.deleted",
        resource_type="driver",
        resource_id=driver_id,
        changes=snapshot,
    )


def license_index(license_number: str) -> str:
    """The licence number's keyed hash: encrypted values cannot be compared in SQL."""
    return field_cipher().blind_index(license_number, context="drivers.license_number")


async def list_drivers(
    *,
    session: AsyncSession,
    actor: Principal,
    available: bool | None,
    request: PageRequest | CursorRequest,
    license_number: str | None = None,
) -> Page[Driver]:
    conditions: list[Any] = [col(Driver.workspace_id) == actor.workspace_id]
    if available is not None:
        conditions.append(col(Driver.availability) == available)
    if license_number is not None:
        conditions.append(col(Driver.license_number_index) == license_index(license_number))
    return await paginate(session, Driver, conditions, request)
