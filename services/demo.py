"""A demo workspace for trying the product: a depot, a small fleet and customers in
central Helsinki, and an admin who can log in. Seeding twice changes nothing."""

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

# Inside the shipped central-Helsinki road network, so the first optimized route follows
# the streets (data/roads: © OpenStreetMap contributors, ODbL).
DEPOT = ("Kamppi Distribution Centre", 24.9372, 60.1683)
CUSTOMERS = (
    ("Rautatientori Pharmacy", 24.9434, 60.1712),
    ("Aleksanterinkatu Grocers", 24.9470, 60.1684),
    ("Esplanadi Bakery", 24.9480, 60.1675),
    ("Kluuvi Fresh Mart", 24.9453, 60.1705),
    ("Erottaja Stores", 24.9425, 60.1660),
    ("Yrjönkatu Book House", 24.9380, 60.1665),
    ("Kaisaniemi Flower Market", 24.9452, 60.1735),
    ("Kruununhaka Hardware", 24.9525, 60.1722),
    ("Senaatintori Cafe", 24.9518, 60.1697),
    ("Kaartinkaupunki Clinic", 24.9478, 60.1652),
    ("Mannerheimintie Canteen", 24.9395, 60.1700),
    ("Kaivokatu Electronics", 24.9418, 60.1697),
    ("Simonkatu Depot Shop", 24.9350, 60.1690),
    ("Lönnrotinkatu Dairy", 24.9370, 60.1648),
    ("Bulevardi Corner Shop", 24.9390, 60.1655),
    ("Kasarmitori Pharmacy", 24.9483, 60.1660),
    ("Hallituskatu Bakery", 24.9500, 60.1710),
    ("Liisankatu Market", 24.9510, 60.1740),
    ("Vilhonkatu Provisions", 24.9440, 60.1722),
    ("Kalevankatu Store", 24.9365, 60.1660),
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
    workspace = Workspace(organization_id=org.id, name="Helsinki Deliveries", region="eu-north")
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
