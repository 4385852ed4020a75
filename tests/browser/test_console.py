"""The console in a real browser (the system's Chromium driven by Playwright) against a real
server and worker: sign in, vehicles on the map and moving as positions arrive, a route
optimized with its progress bar, a deviation highlighted, a wrong password refused."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from tests.conftest import ROOT, TEST_REDIS_URL, DatabaseUnderTest
from tests.helpers import PASSWORD, Session, register
from tests.routing_helpers import DEPOT, city, make_vehicle, route_body, start_worker
from tests.served_app import served_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "browser" / "artifacts"
BUILT = (ROOT / "console" / "dist" / "console.js").is_file()

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed"),
    pytest.mark.skipif(not BUILT, reason="the console was not built (make console)"),
]


async def report(
    http: httpx.AsyncClient, who: Session, vehicle: str, lng: float, lat: float, **extra: object
) -> None:
    body = {"vehicle_id": vehicle, "lng": lng, "lat": lat, **extra}
    response = await http.post("/api/v1/tracking/update", json=body, headers=who.headers)
    assert response.status_code == 201, response.text


async def until(check: Callable[[], Awaitable[bool]], *, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def sign_in(page: Page, email: str, password: str) -> None:
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("#signin-form button[type=submit]")


async def test_console_live_map_optimize_and_deviation(database: DatabaseUnderTest) -> None:
    worker = start_worker(database.owner_url)
    try:
        async with served_app(database.owner_url, TEST_REDIS_URL) as server:
            await _drive(server.http)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


async def _drive(http: httpx.AsyncClient) -> None:
    admin = await register(http)
    depot, customers = await city(http, admin)
    lng, lat = DEPOT
    van = await make_vehicle(http, admin, "VAN-1", last_location={"lng": lng, "lat": lat})
    truck = await make_vehicle(http, admin, "TRUCK-2", last_location={"lng": 77.6, "lat": 12.97})
    created = await http.post(
        "/api/v1/routes", json=route_body(depot, customers[:4], van), headers=admin.headers
    )
    assert created.status_code == 201, created.text
    route_id = created.json()["data"]["id"]

    violations: list[str] = []
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
        await page.goto(str(http.base_url.join("/console")))

        await sign_in(page, admin.email, "not the password")
        error = page.locator("#signin-error")
        await error.wait_for(state="visible")
        assert "Wrong email or password" in await error.inner_text()

        await sign_in(page, admin.email, PASSWORD)
        try:
            await page.wait_for_selector("body[data-ready=true]", timeout=20_000)
        except Exception:
            shown = await page.locator("#signin-error").inner_text()
            raise AssertionError(f"the console did not open: {shown} {errors}") from None
        vehicles = page.locator("#vehicles li")
        assert await vehicles.count() == 2
        assert await page.locator(".vehicle-marker").count() == 2
        route = page.locator(f'#routes li[data-route-id="{route_id}"]')
        assert await route.get_attribute("data-drawn") == "true"
        await page.wait_for_selector("#live-state.live")

        # A position over REST moves the truck's marker (the subscription may still be
        # settling in: report again until the page shows it).
        truck_li = page.locator(f'#vehicles li[data-vehicle-id="{truck}"]')

        async def truck_moved() -> bool:
            await report(http, admin, truck, 77.61, 12.98)
            return await truck_li.get_attribute("data-lat") == "12.98"

        await until(truck_moved, within_s=20, what="the truck's marker to move")
        assert await truck_li.get_attribute("data-lng") == "77.61"

        # Optimize from the page: the progress bar fills and the optimized route is drawn.
        await route.locator("button.optimize").click()
        await page.wait_for_selector("#optimize-progress[data-state=completed]", timeout=120_000)
        assert await page.locator("#optimize-progress").get_attribute("value") == "100"
        assert await route.get_attribute("data-status") == "optimized"
        assert "saved" in await page.locator("#optimize-result").inner_text()
        assert int(await route.get_attribute("data-points") or 0) >= 5

        # Deployed and driven off the route twice: the deviation is highlighted.
        deployed = await http.post(f"/api/v1/routes/{route_id}/deploy", headers=admin.headers)
        assert deployed.status_code == 200, deployed.text
        t0 = time.time()  # after the positions the van already has

        def stamp(n: int) -> str:
            return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t0 + n * 10))

        for n, off in enumerate((0, 0.007, 0.0072), start=1):  # on the route, then off twice
            await report(http, admin, van, lng, lat + off, recorded_at=stamp(n))
            await asyncio.sleep(0.4)
        try:
            await page.wait_for_selector(
                f'#routes li[data-route-id="{route_id}"].deviating', timeout=10_000
            )
        except Exception:
            active = (await http.get("/api/v1/tracking/deviations", headers=admin.headers)).json()
            shown = await page.locator("#deviations").inner_html()
            raise AssertionError(f"not highlighted: {active} {shown} {errors}") from None
        assert await page.locator(f'#deviations li[data-route-id="{route_id}"]').count() == 1
        assert await page.locator("path.route-line.deviating").count() == 1

        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "console.png"))

        await page.click("#logout")
        await page.locator("#signin").wait_for(state="visible")
        await browser.close()
    assert violations == []
