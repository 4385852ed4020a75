"""Fleet types. Each holds its database row privately and resolves relations through the
request's dataloaders, so a list of N vehicles with drivers costs a constant number of
queries."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from dataloaders import DataLoaders
from models import Driver as DriverRow
from models import Location as LocationRow
from models import Vehicle as VehicleRow
from models.enums import FuelType, LocationType, VehicleStatus, VehicleType
from models.fleet_inputs import (
    BoundingBox,
    DriverCreate,
    DriverUpdate,
    LocationCreate,
    LocationUpdate,
    NearbyQuery,
    VehicleCreate,
    VehicleUpdate,
)
from models.fleet_records import DriverRecord, UserRecord, VehicleRecord, VehicleWithDriver
from models.geo import GeoPoint
from schema.context import Context
from schema.requests import fields, request
from schema.types.identity import User, user_of
from schema.types.later import Later

if TYPE_CHECKING:
    from schema.types.routing import Route

VehicleStatusEnum = strawberry.enum(VehicleStatus, name="VehicleStatus")
VehicleTypeEnum = strawberry.enum(VehicleType, name="VehicleType")
FuelTypeEnum = strawberry.enum(FuelType, name="FuelType")
LocationTypeEnum = strawberry.enum(LocationType, name="LocationType")


@strawberry.type(name="GeoPoint", description="GeoJSON Point: coordinates are [lng, lat].")
class GeoPointType:
    type: str
    coordinates: list[float]

    @classmethod
    def of(cls, element: Any) -> GeoPointType | None:
        point = GeoPoint.of(element)
        return cls(type="Point", coordinates=list(point.coordinates)) if point else None


@strawberry.input(description="GeoJSON Point: coordinates are [lng, lat].")
class GeoPointInput:
    coordinates: list[float]
    type: str = "Point"


@strawberry.input(description="The GeoJSON bbox order: west, south, east, north.")
class BoundingBoxInput:
    def to_request(self) -> BoundingBox:
        return request(BoundingBox, self)

    min_lng: float
    min_lat: float
    max_lng: float
    max_lat: float


@strawberry.type
class Vehicle:
    id: UUID
    vehicle_type: str
    plate_number: str
    capacity_kg: int
    capacity_volume_m3: float | None
    status: VehicleStatusEnum  # type: ignore[valid-type]
    fuel_type: str | None
    max_range_km: float | None
    metadata: JSON
    last_location: GeoPointType | None
    last_location_at: datetime | None
    created_at: datetime | None
    # Read with the vehicle where its statement read it, else on demand (schema.types.later).
    driver: Driver | None = strawberry.field(
        description="The driver assigned to this vehicle, if any.", default=None
    )

    @classmethod
    def of(cls, row: VehicleRow, loaders: DataLoaders) -> Vehicle:
        vehicle = cls(
            id=row.id,
            vehicle_type=row.vehicle_type,
            plate_number=row.plate_number,
            capacity_kg=row.capacity_kg,
            capacity_volume_m3=row.capacity_volume_m3,
            status=row.status,
            fuel_type=row.fuel_type,
            max_range_km=row.max_range_km,
            metadata=JSON(row.metadata_),
            last_location=GeoPointType.of(row.last_location),
            last_location_at=row.last_location_at,
            created_at=row.created_at,
        )
        vehicle.driver = _driver_later(row.id, loaders)
        return vehicle

    @classmethod
    def read_with_driver(cls, row: VehicleWithDriver) -> Vehicle:
        """A vehicle whose statement read its driver and the driver's user too."""
        vehicle = cls._of_record(row.vehicle)
        vehicle.driver = Driver.with_user(row.driver, row.user) if row.driver else None
        return vehicle

    @classmethod
    def of_record(cls, row: VehicleRecord, loaders: DataLoaders) -> Vehicle:
        vehicle = cls._of_record(row)
        vehicle.driver = _driver_later(row.id, loaders)
        return vehicle

    @classmethod
    def _of_record(cls, row: VehicleRecord) -> Vehicle:
        return cls(
            id=row.id,
            vehicle_type=row.vehicle_type,
            plate_number=row.plate_number,
            capacity_kg=row.capacity_kg,
            capacity_volume_m3=row.capacity_volume_m3,
            status=row.status,
            fuel_type=row.fuel_type,
            max_range_km=row.max_range_km,
            metadata=JSON(row.metadata_),
            last_location=(
                GeoPointType(type="Point", coordinates=[row.lng, row.lat])
                if row.lng is not None and row.lat is not None
                else None
            ),
            last_location_at=row.last_location_at,
            created_at=row.created_at,
        )

    @strawberry.field(description="The deployed or in-progress route of this vehicle, if any.")
    async def current_route(
        self, info: Info[Context, None]
    ) -> Annotated[Route, strawberry.lazy("schema.types.routing")] | None:
        from schema.types.routing import Route

        row = await info.context.loaders.current_route_by_vehicle.load(self.id)
        return Route.of(row) if row else None


def _driver_later(vehicle_id: UUID, loaders: DataLoaders) -> Driver | None:
    async def load() -> Driver | None:
        row = await loaders.driver_by_vehicle.load(vehicle_id)
        return Driver.of(row, loaders) if row else None

    # Typed as what GraphQL sees once it has awaited it.
    return cast("Driver | None", Later(load))


@strawberry.type
class NearbyVehicle:
    vehicle: Vehicle
    distance_m: float


@strawberry.type
class Driver:
    id: UUID
    user_id: UUID
    vehicle_id: UUID | None
    license_number: str
    license_expiry: date | None
    phone: str | None
    availability: bool
    rating: float | None
    total_trips: int
    # Read with the driver where its statement read it, else on demand (schema.types.later).
    user: User | None = None

    @classmethod
    def with_user(cls, row: DriverRecord, user: UserRecord | None) -> Driver:
        """A driver whose statement read its user too (None: the user was deleted)."""
        driver = cls._of(row)
        driver.user = user_of(user) if user else None
        return driver

    @classmethod
    def of(cls, row: DriverRow | DriverRecord, loaders: DataLoaders) -> Driver:
        driver = cls._of(row)
        user_id = row.user_id

        async def load() -> User | None:
            user = await loaders.user_by_id.load(user_id)
            return user_of(user) if user else None

        driver.user = cast("User | None", Later(load))
        return driver

    @classmethod
    def _of(cls, row: DriverRow | DriverRecord) -> Driver:
        return cls(
            id=row.id,
            user_id=row.user_id,
            vehicle_id=row.vehicle_id,
            license_number=row.license_number,
            license_expiry=row.license_expiry,
            phone=row.phone,
            availability=row.availability,
            rating=row.rating,
            total_trips=row.total_trips,
        )

    @strawberry.field
    async def vehicle(self, info: Info[Context, None]) -> Vehicle | None:
        if self.vehicle_id is None:
            return None
        loaders = info.context.loaders
        row = await loaders.vehicle_by_id.load(self.vehicle_id)
        return Vehicle.of(row, loaders) if row else None


@strawberry.type
class Location:
    id: UUID
    name: str
    address: str | None
    geo: GeoPointType
    location_type: LocationTypeEnum  # type: ignore[valid-type]
    contact_info: JSON
    operating_hours: JSON
    metadata: JSON
    created_at: datetime | None

    @classmethod
    def of(cls, row: LocationRow) -> Location:
        geo = GeoPointType.of(row.geo)
        assert geo is not None
        return cls(
            id=row.id,
            name=row.name,
            address=row.address,
            geo=geo,
            location_type=row.location_type,
            contact_info=JSON(row.contact_info or {}),
            operating_hours=JSON(row.operating_hours or {}),
            metadata=JSON(row.metadata_),
            created_at=row.created_at,
        )


@strawberry.type
class NearbyLocation:
    location: Location
    distance_m: float


@strawberry.type
class ImportResult:
    imported: int
    ids: list[UUID]


@strawberry.input
class VehicleFilterInput:
    status: VehicleStatusEnum | None = None  # type: ignore[valid-type]
    vehicle_type: VehicleTypeEnum | None = None  # type: ignore[valid-type]
    search: str | None = None
    bbox: BoundingBoxInput | None = None


@strawberry.input
class LocationFilterInput:
    location_type: LocationTypeEnum | None = None  # type: ignore[valid-type]
    search: str | None = None
    bbox: BoundingBoxInput | None = None


@strawberry.input
class VehicleInput:
    def to_request(self) -> VehicleCreate:
        return request(VehicleCreate, self)

    vehicle_type: VehicleTypeEnum  # type: ignore[valid-type]
    plate_number: str
    capacity_kg: int = 0
    capacity_volume_m3: float | None = None
    status: VehicleStatusEnum = VehicleStatus.AVAILABLE  # type: ignore[valid-type]
    fuel_type: FuelTypeEnum | None = None  # type: ignore[valid-type]
    max_range_km: float | None = None
    metadata: JSON | None = strawberry.UNSET
    last_location: GeoPointInput | None = None


@strawberry.input
class VehiclePatch:
    def to_request(self) -> VehicleUpdate:
        return request(VehicleUpdate, self)

    vehicle_type: VehicleTypeEnum | None = strawberry.UNSET  # type: ignore[valid-type]
    plate_number: str | None = strawberry.UNSET
    capacity_kg: int | None = strawberry.UNSET
    capacity_volume_m3: float | None = strawberry.UNSET
    status: VehicleStatusEnum | None = strawberry.UNSET  # type: ignore[valid-type]
    fuel_type: FuelTypeEnum | None = strawberry.UNSET  # type: ignore[valid-type]
    max_range_km: float | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET
    last_location: GeoPointInput | None = strawberry.UNSET


@strawberry.input
class DriverInput:
    def to_request(self) -> DriverCreate:
        return request(DriverCreate, self)

    user_id: UUID
    license_number: str
    vehicle_id: UUID | None = None
    license_expiry: date | None = None
    phone: str | None = None
    availability: bool = True
    rating: float = 0.0


@strawberry.input
class DriverPatch:
    def to_request(self) -> DriverUpdate:
        return request(DriverUpdate, self)

    vehicle_id: UUID | None = strawberry.UNSET
    license_number: str | None = strawberry.UNSET
    license_expiry: date | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    availability: bool | None = strawberry.UNSET
    rating: float | None = strawberry.UNSET


@strawberry.input
class LocationInput:
    def to_request(self) -> LocationCreate:
        return request(LocationCreate, self)

    name: str
    geo: GeoPointInput
    address: str | None = None
    location_type: LocationTypeEnum = LocationType.CUSTOM  # type: ignore[valid-type]
    contact_info: JSON | None = strawberry.UNSET
    operating_hours: JSON | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET


@strawberry.input
class LocationPatch:
    def to_request(self) -> LocationUpdate:
        return request(LocationUpdate, self)

    name: str | None = strawberry.UNSET
    geo: GeoPointInput | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    location_type: LocationTypeEnum | None = strawberry.UNSET  # type: ignore[valid-type]
    contact_info: JSON | None = strawberry.UNSET
    operating_hours: JSON | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET


@strawberry.enum
class ImportFormat(Enum):
    CSV = "csv"
    GEOJSON = "geojson"


def nearby_query(*, lat: float, lng: float, radius_m: float, limit: int) -> NearbyQuery:
    return fields(NearbyQuery, lat=lat, lng=lng, radius_m=radius_m, limit=limit)


def bounding_box(value: BoundingBoxInput | None) -> BoundingBox | None:
    return value.to_request() if value else None
