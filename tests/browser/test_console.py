"""The console in a real browser (the system's Chromium driven by Playwright) against a real
server, worker and events process: sign in, vehicles on the map and moving as positions
arrive, a route created, renamed, optimized and deleted through the API redrawn without a
reload, a route optimized from the page with its progress bar, a deviation highlighted, the
analytics charts empty and then drawn from what happened, a viewer told the reports need
the analyst role, a wrong password refused."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Locator, Page, async_playwright

from tests.conftest import ROOT, TEST_REDIS_URL, DatabaseUnderTest
from tests.events_helpers import events_process
from tests.helpers import PASSWORD, Session, member, register
from tests.operations_helpers import SCENE, incident
from tests.routing_helpers import DEPOT, city, make_vehicle, route_body, start_worker
from tests.served_app import served_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "browser" / "artifacts"
BUILT = (ROOT / "console" / "dist" / "console.js").is_file()

pytestmark = [
    pytest.mark.timeout(360),
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


async def test_console_live_map_optimize_deviation_and_reports(
    database: DatabaseUnderTest,
) -> None:
    worker = start_worker(database.owner_url)
    try:
        async with (
            served_app(database.owner_url, TEST_REDIS_URL) as server,
            events_process(database),
        ):
            await _drive(server.http)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


async def report_json(http: httpx.AsyncClient, who: Session, name: str) -> dict:
    response = await http.get(f"/api/v1/analytics/{name}", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


async def chart(page: Page, name: str, state: str) -> Locator:
    figure = page.locator(f'figure.report[data-chart="{name}"]')
    try:
        await page.wait_for_selector(
            f'figure.report[data-chart="{name}"][data-state="{state}"]', timeout=15_000
        )
    except Exception:
        shown = await figure.get_attribute("data-state"), await figure.inner_text()
        raise AssertionError(f"chart {name} is not {state}: {shown}") from None
    return figure


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

        # Nothing optimized yet: the charts say so, with their freshness.
        await page.wait_for_selector("#reports[data-state=ready]", timeout=20_000)
        assert await page.locator("#reports-forbidden").is_hidden()
        saved = await chart(page, "saved", "empty")
        assert "No optimizations in this range." in await saved.inner_text()
        quantum = await chart(page, "quantum", "empty")
        assert "No quantum or hybrid jobs" in await quantum.inner_text()
        assert await saved.locator("canvas").count() == 0

        # A route created through the API after sign-in appears without a reload; renamed,
        # it is redrawn; deleted, it leaves the map.
        posted = await http.post(
            "/api/v1/routes", json=route_body(depot, customers[4:7], None), headers=admin.headers
        )
        assert posted.status_code == 201, posted.text
        late_id = posted.json()["data"]["id"]
        late = page.locator(f'#routes li[data-route-id="{late_id}"]')
        await late.wait_for(state="attached", timeout=20_000)
        assert await late.get_attribute("data-drawn") == "true"
        assert await late.get_attribute("data-points") == "3"
        assert await page.locator("path.route-line").count() == 2
        renamed = await http.patch(
            f"/api/v1/routes/{late_id}", json={"name": "Evening run"}, headers=admin.headers
        )
        assert renamed.status_code == 200, renamed.text
        await page.wait_for_selector(
            f'#routes li[data-route-id="{late_id}"] span:has-text("Evening run")', timeout=20_000
        )
        optimized = await http.post(
            f"/api/v1/routes/{late_id}/optimize?wait=60", headers=admin.headers
        )
        assert optimized.status_code == 200, optimized.text
        await page.wait_for_selector(
            f'#routes li[data-route-id="{late_id}"][data-status="optimized"]', timeout=20_000
        )
        assert int(await late.get_attribute("data-points") or 0) > 3  # its legs, not its stops
        deleted = await http.delete(f"/api/v1/routes/{late_id}", headers=admin.headers)
        assert deleted.status_code == 200, deleted.text
        await late.wait_for(state="detached", timeout=20_000)
        assert await page.locator("path.route-line").count() == 1

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

        # An incident answered by the truck, and a quantum job: with the optimization and
        # the deployment above, every chart has something once the events are folded.
        scene = await incident(http, admin, "high")
        dispatched = await http.post(
            f"/api/v1/incidents/{scene['id']}/dispatch",
            json={"vehicle_ids": [truck]},
            headers=admin.headers,
        )
        assert dispatched.status_code == 200, dispatched.text
        await report(http, admin, truck, SCENE["lng"], SCENE["lat"] + 0.0002)
        # Released once on scene: its time in transit is a closed interval, which is what
        # utilization counts.
        unit_route = dispatched.json()["data"]["units"][0]["route_id"]
        released = await http.post(f"/api/v1/routes/{unit_route}/cancel", headers=admin.headers)
        assert released.status_code == 200, released.text
        queued = await http.post(
            "/api/v1/quantum/optimize",
            json={"location_ids": customers[:3], "depot_location_id": depot},
            headers=admin.headers,
        )
        assert queued.status_code == 202, queued.text

        # Polled as an analyst, every 1.5 s: each user has 100 requests a minute.
        analyst = await member(http, admin, "analyst")
        waiting = {
            "fleet": lambda t: t["incidents_responded"] and t["utilization"],
            "efficiency": lambda t: t["optimizations"] == 2,  # the API's and the page's
            "quantum": lambda t: t["jobs"],
        }
        deadline = time.monotonic() + 120
        totals: dict[str, dict] = {}
        while waiting:
            for name, check in list(waiting.items()):
                totals[name] = (await report_json(http, analyst, name))["data"]["totals"]
                if check(totals[name]):
                    del waiting[name]
            assert time.monotonic() < deadline, f"not folded in time: {waiting} {totals}"
            await asyncio.sleep(1.5)
        await page.click("#reports-refresh")
        efficiency = await report_json(http, admin, "efficiency")
        saved = await chart(page, "saved", "drawn")
        assert await saved.get_attribute("data-points") == "1"  # today
        assert await saved.locator("canvas").count() >= 1
        km = efficiency["data"]["totals"]["saved_vs_submitted_m"] / 1000
        assert f"2 optimizations, {km:.2f} km saved" in await saved.inner_text()
        assert (await saved.locator(".as-of").inner_text()).startswith("As of ")
        as_of = await saved.get_attribute("data-as-of")
        assert as_of and abs(time.time() - _epoch(as_of)) < 600
        utilization = await chart(page, "utilization", "drawn")
        assert int(await utilization.get_attribute("data-points") or 0) >= 1
        assert "2 vehicles" in await utilization.inner_text()
        response = await chart(page, "response", "drawn")
        assert "1 response;" in await response.inner_text()
        quantum = await chart(page, "quantum", "drawn")
        assert "1 job against the classical answer" in await quantum.inner_text()

        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)

        # A viewer signs in: the map, and one line instead of the reports.
        viewer = await member(http, admin, "viewer")
        other = await browser.new_page(viewport={"width": 1280, "height": 800})
        other.on("pageerror", lambda e: errors.append(str(e)))
        await other.goto(str(http.base_url.join("/console")))
        await sign_in(other, viewer.email, PASSWORD)
        await other.wait_for_selector("body[data-ready=true]", timeout=20_000)
        await other.wait_for_selector("#reports[data-state=forbidden]", timeout=20_000)
        notice = other.locator("#reports-forbidden")
        assert await notice.is_visible()
        assert "need the analyst role" in await notice.inner_text()
        assert await other.locator("#report-grid").is_hidden()
        await other.close()

        await page.click("#logout")
        await page.locator("#signin").wait_for(state="visible")
        await browser.close()
    assert violations == []


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
