"""Fleet queries and mutations over `services.fleet`."""

from __future__ import annotations

import json
from uuid import UUID

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.errors import invalid
from schema.payloads import (
    Done,
    DoneResult,
    DriverResult,
    ImportLocationsResult,
    LocationResult,
    VehicleResult,
)
from schema.permissions import Operation, requires
from schema.types.fleet import (
    Driver,
    DriverInput,
    DriverPatch,
    ImportFormat,
    ImportResult,
    Location,
    LocationFilterInput,
    LocationInput,
    LocationPatch,
    LocationTypeEnum,
    NearbyLocation,
    NearbyVehicle,
    Vehicle,
    VehicleFilterInput,
    VehicleInput,
    VehiclePatch,
    VehicleStatusEnum,
    bounding_box,
    nearby_query,
)
from schema.types.pagination import Connection, cursor, selected
from services.fleet import drivers, imports, locations, vehicle_reads, vehicles

Ctx = Info[Context, None]


@strawberry.type
class FleetQuery:
    @strawberry.field(extensions=requires(Operation.VEHICLE_LIST))
    async def vehicles(
        self,
        info: Ctx,
        first: int = 20,
        after: str | None = None,
        filter: VehicleFilterInput | None = None,
    ) -> Connection[Vehicle]:
        actor = await info.context.principal()
        f = filter or VehicleFilterInput()
        filters = vehicles.VehicleFilter(
            status=f.status, vehicle_type=f.vehicle_type, search=f.search, bbox=bounding_box(f.bbox)
        )
        asked = selected(info, "totalCount", "driver")
        request = cursor(info, first, after, with_total="totalCount" in asked)
        hot = vehicle_reads.CursorQuery(filters, request, with_drivers="driver" in asked)
        if not hot.covered:
            async with info.context.db.session(actor.workspace_id) as session:
                page = await vehicles.list_vehicles(
                    session=session, actor=actor, filters=filters, request=request
                )
            loaders = info.context.loaders
            return Connection.of(page, lambda row: Vehicle.of(row, loaders))
        rows = vehicle_reads.vehicle_cursor_page(
            await info.context.fetch_scoped(vehicle_reads.CURSOR, *vehicle_reads.cursor_args(hot)),
            hot,
        )
        if not hot.with_drivers:
            loaders = info.context.loaders
            return Connection.of(rows, lambda row: Vehicle.of_record(row.vehicle, loaders))
        # The drivers and their users came with the vehicles: nothing more is read for them.
        return Connection.of(rows, Vehicle.read_with_driver)

    @strawberry.field(extensions=requires(Operation.VEHICLE_READ))
    async def vehicle(self, info: Ctx, id: UUID) -> Vehicle:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            return Vehicle.of(
                await vehicles.get_vehicle(session=session, actor=actor, vehicle_id=id),
                info.context.loaders,
            )

    @strawberry.field(extensions=requires(Operation.VEHICLE_NEARBY))
    async def vehicles_nearby(
        self,
        info: Ctx,
        lat: float,
        lng: float,
        radius_m: float = 5000,
        limit: int = 10,
        status: VehicleStatusEnum | None = None,  # type: ignore[valid-type]
    ) -> list[NearbyVehicle]:
        actor = await info.context.principal()
        query = nearby_query(lat=lat, lng=lng, radius_m=radius_m, limit=limit)
        async with info.context.db.session(actor.workspace_id) as session:
            found = await vehicles.nearby_vehicles(
                session=session, actor=actor, query=query, status=status
            )
        return [
            NearbyVehicle(vehicle=Vehicle.of(v, info.context.loaders), distance_m=round(d, 2))
            for v, d in found
        ]

    @strawberry.field(extensions=requires(Operation.DRIVER_LIST))
    async def drivers(
        self, info: Ctx, first: int = 20, after: str | None = None, available: bool | None = None
    ) -> Connection[Driver]:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            page = await drivers.list_drivers(
                session=session,
                actor=actor,
                available=available,
                request=cursor(info, first, after),
            )
        loaders = info.context.loaders
        return Connection.of(page, lambda row: Driver.of(row, loaders))

    @strawberry.field(extensions=requires(Operation.DRIVER_READ))
    async def driver(self, info: Ctx, id: UUID) -> Driver:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            return Driver.of(
                await drivers.get_driver(session=session, actor=actor, driver_id=id),
                info.context.loaders,
            )

    @strawberry.field(extensions=requires(Operation.LOCATION_LIST))
    async def locations(
        self,
        info: Ctx,
        first: int = 20,
        after: str | None = None,
        filter: LocationFilterInput | None = None,
    ) -> Connection[Location]:
        actor = await info.context.principal()
        f = filter or LocationFilterInput()
        filters = locations.LocationFilter(
            location_type=f.location_type, search=f.search, bbox=bounding_box(f.bbox)
        )
        async with info.context.db.session(actor.workspace_id) as session:
            page = await locations.list_locations(
                session=session, actor=actor, filters=filters, request=cursor(info, first, after)
            )
        return Connection.of(page, Location.of)

    @strawberry.field(extensions=requires(Operation.LOCATION_READ))
    async def location(self, info: Ctx, id: UUID) -> Location:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            return Location.of(
                await locations.get_location(session=session, actor=actor, location_id=id)
            )

    @strawberry.field(extensions=requires(Operation.LOCATION_LIST))
    async def locations_near(
        self,
        info: Ctx,
        lat: float,
        lng: float,
        radius_m: float = 5000,
        limit: int = 10,
        location_type: LocationTypeEnum | None = None,  # type: ignore[valid-type]
    ) -> list[NearbyLocation]:
        actor = await info.context.principal()
        query = nearby_query(lat=lat, lng=lng, radius_m=radius_m, limit=limit)
        async with info.context.db.session(actor.workspace_id) as session:
            found = await locations.locations_near(
                session=session, actor=actor, query=query, location_type=location_type
            )
        return [
            NearbyLocation(location=Location.of(loc), distance_m=round(d, 2)) for loc, d in found
        ]


@strawberry.type
class FleetMutation:
    @strawberry.mutation(extensions=requires(Operation.VEHICLE_CREATE))
    async def create_vehicle(self, info: Ctx, input: VehicleInput) -> VehicleResult:
        actor = await info.context.principal()
        data = input.to_request()
        async with info.context.db.session(actor.workspace_id) as session:
            return Vehicle.of(
                await vehicles.create_vehicle(session=session, actor=actor, data=data),
                info.context.loaders,
            )

    @strawberry.mutation(extensions=requires(Operation.VEHICLE_UPDATE))
    async def update_vehicle(self, info: Ctx, id: UUID, input: VehiclePatch) -> VehicleResult:
        actor = await info.context.principal()
        data = input.to_request()
        async with info.context.db.session(actor.workspace_id) as session:
            row = await vehicles.update_vehicle(
                session=session, actor=actor, vehicle_id=id, data=data
            )
            return Vehicle.of(row, info.context.loaders)

    @strawberry.mutation(extensions=requires(Operation.VEHICLE_DELETE))
    async def delete_vehicle(self, info: Ctx, id: UUID) -> DoneResult:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            await vehicles.delete_vehicle(session=session, actor=actor, vehicle_id=id)
        return Done()

    @strawberry.mutation(extensions=requires(Operation.DRIVER_CREATE))
    async def create_driver(self, info: Ctx, input: DriverInput) -> DriverResult:
        actor = await info.context.principal()
        data = input.to_request()
        async with info.context.db.session(actor.workspace_id) as session:
            return Driver.of(
                await drivers.create_driver(session=session, actor=actor, data=data),
                info.context.loaders,
            )

    @strawberry.mutation(extensions=requires(Operation.DRIVER_UPDATE))
    async def update_driver(self, info: Ctx, id: UUID, input: DriverPatch) -> DriverResult:
        actor = await info.context.principal()
        data = input.to_request()
        async with info.context.db.session(actor.workspace_id) as session:
            return Driver.of(
                await drivers.update_driver(session=session, actor=actor, driver_id=id, data=data),
                info.context.loaders,
            )

    @strawberry.mutation(extensions=requires(Operation.DRIVER_DELETE))
    async def delete_driver(self, info: Ctx, id: UUID) -> DoneResult:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            await drivers.delete_driver(session=session, actor=actor, driver_id=id)
        return Done()

    @strawberry.mutation(extensions=requires(Operation.LOCATION_CREATE))
    async def create_location(self, info: Ctx, input: LocationInput) -> LocationResult:
        actor = await info.context.principal()
        data = input.to_request()
        async with info.context.db.session(actor.workspace_id) as session:
            return Location.of(
                await locations.create_location(session=session, actor=actor, data=data)
            )

    @strawberry.mutation(extensions=requires(Operation.LOCATION_UPDATE))
    async def update_location(self, info: Ctx, id: UUID, input: LocationPatch) -> LocationResult:
        actor = await info.context.principal()
        data = input.to_request()
        async with info.context.db.session(actor.workspace_id) as session:
            row = await locations.update_location(
                session=session, actor=actor, location_id=id, data=data
            )
            return Location.of(row)

    @strawberry.mutation(extensions=requires(Operation.LOCATION_DELETE))
    async def delete_location(self, info: Ctx, id: UUID) -> DoneResult:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            await locations.delete_location(session=session, actor=actor, location_id=id)
        return Done()

    @strawberry.mutation(
        extensions=requires(Operation.LOCATION_IMPORT),
        description="Import locations from CSV text or a GeoJSON FeatureCollection: all or none.",
    )
    async def import_locations(
        self, info: Ctx, format: ImportFormat, content: str
    ) -> ImportLocationsResult:
        actor = await info.context.principal()
        if format is ImportFormat.CSV:
            rows = imports.rows_from_csv(content)
        else:
            try:
                rows = imports.rows_from_geojson(json.loads(content))
            except json.JSONDecodeError:
                raise invalid("content", "malformed JSON") from None
        async with info.context.db.session(actor.workspace_id) as session:
            imported = await imports.import_locations(session=session, actor=actor, rows=rows)
        return ImportResult(imported=len(imported), ids=[loc.id for loc in imported])
