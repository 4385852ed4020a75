"""A demo workspace for trying the product: a depot, a small fleet and customers in
Bengaluru, and an admin who can log in. Seeding twice changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from geoalchemy2.elements import WKTElement
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import set_tenant
from core.passwords import hash_password
from core.principal import Principal
from models import Driver, Location, Organization, User, Vehicle, Workspace
from models.enums import LocationType, UserRole, UserStatus
from services.audit import record_audit

DEMO_SLUG = "omniroute-demo"

DEPOT = ("Peenya Distribution Centre", 77.5187, 13.0285)
CUSTOMERS = (
    ("MG Road Metro Pharmacy", 77.6101, 12.9756),
    ("Indiranagar 100ft Grocers", 77.6408, 12.9719),
    ("Koramangala Bakery", 77.6245, 12.9352),
    ("HSR Layout Fresh Mart", 77.6387, 12.9116),
    ("Jayanagar 4th Block Stores", 77.5838, 12.9250),
    ("Basavanagudi Book House", 77.5737, 12.9422),
    ("Malleshwaram Flower Market", 77.5710, 13.0031),
    ("Rajajinagar Hardware", 77.5550, 12.9915),
    ("Hebbal Lake Cafe", 77.5970, 13.0358),
    ("Yelahanka New Town Clinic", 77.5963, 13.1007),
    ("Whitefield Tech Park Canteen", 77.7500, 12.9698),
    ("Marathahalli Electronics", 77.7010, 12.9569),
    ("Electronic City Phase 1 Depot", 77.6701, 12.8452),
    ("BTM Layout Dairy", 77.6101, 12.9166),
    ("Banashankari Temple Street Shop", 77.5468, 12.9255),
    ("Vijayanagar Pharmacy", 77.5373, 12.9719),
    ("Frazer Town Bakery", 77.6140, 12.9976),
    ("Ulsoor Lake Market", 77.6200, 12.9830),
    ("RT Nagar Provisions", 77.5960, 13.0210),
    ("Kengeri Satellite Town Store", 77.4850, 12.9110),
)
VEHICLES = (
    ("KA-01-AB-1001", "van", 800, 6.0, "diesel"),
    ("KA-01-AB-1002", "van", 800, 6.0, "diesel"),
    ("KA-02-EV-2001", "van", 600, 5.0, "electric"),
    ("KA-03-TR-3001", "truck", 3000, 18.0, "diesel"),
    ("KA-05-BK-5001", "motorbike", 40, 0.2, "petrol"),
)


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    password: str
    workspace_id: uuid.UUID
    created: bool


def _point(lng: float, lat: float) -> WKTElement:
    return WKTElement(f"POINT({lng} {lat})", srid=4326)


async def seed_demo(*, session: AsyncSession, admin_email: str, admin_password: str) -> DemoLogin:
    """Create the demo organization once; return its admin login either way."""
    existing = (
        await session.execute(
            text("SELECT workspace_id FROM auth_login_candidates(:email)"), {"email": admin_email}
        )
    ).first()
    if existing is not None:
        return DemoLogin(admin_email, admin_password, existing[0], created=False)

    org = Organization(name="OmniRoute Demo", slug=DEMO_SLUG)
    workspace = Workspace(organization_id=org.id, name="Bengaluru Deliveries", region="ap-south")
    await set_tenant(session, workspace.id, organization_id=org.id)
    admin = User(
        workspace_id=workspace.id,
        email=admin_email.lower(),
        password_hash=hash_password(admin_password),
        full_name="Demo Admin",
        role=UserRole.ADMIN,
        status=UserStatus.ACTIVE,
    )
    # No ORM relationships are declared, so parents are flushed before their children.
    for row in (org, workspace, admin):
        session.add(row)
        await session.flush()

    depot_name, lng, lat = DEPOT
    session.add(
        Location(
            workspace_id=workspace.id,
            name=depot_name,
            geo=_point(lng, lat),
            location_type=LocationType.DEPOT,
            operating_hours={
                day: [["06:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")
            },
        )
    )
    for name, c_lng, c_lat in CUSTOMERS:
        session.add(
            Location(
                workspace_id=workspace.id,
                name=name,
                geo=_point(c_lng, c_lat),
                location_type=LocationType.CUSTOMER,
                operating_hours={
                    day: [["09:00", "19:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")
                },
            )
        )
    vehicles = [
        Vehicle(
            workspace_id=workspace.id,
            plate_number=plate,
            vehicle_type=kind,
            capacity_kg=kg,
            capacity_volume_m3=m3,
            fuel_type=fuel,
            max_range_km=250 if fuel == "electric" else 600,
            last_location=_point(lng, lat),
        )
        for plate, kind, kg, m3, fuel in VEHICLES
    ]
    session.add_all(vehicles)
    driver_user = User(
        workspace_id=workspace.id,
        email="driver@demo.omniroute.dev",
        password_hash=hash_password(admin_password),
        full_name="Ravi Kumar",
        role=UserRole.DRIVER,
        status=UserStatus.ACTIVE,
    )
    session.add(driver_user)
    await session.flush()
    session.add(
        Driver(
            workspace_id=workspace.id,
            user_id=driver_user.id,
            vehicle_id=vehicles[0].id,
            license_number="KA0120260001234",
            phone="+91 80 4000 1234",
        )
    )
    await record_audit(
        session=session,
        actor=Principal(admin.id, workspace.id, org.id, UserRole.ADMIN.value),
        action="demo.seeded",
        resource_type="workspace",
        resource_id=workspace.id,
        changes={"locations": len(CUSTOMERS) + 1, "vehicles": len(VEHICLES)},
    )
    return DemoLogin(admin_email, admin_password, workspace.id, created=True)
