// The operations console: sign in, a live map of the workspace over GraphQL subscriptions
// (graphql-transport-ws), routes with their stops redrawn as they change, deviations,
// incidents, optimizing a route with its progress, and the analytics reports as charts.
// Tokens stay in memory only.
import "./console.css";
import L from "leaflet";
import { createClient } from "graphql-ws";
import { closeReports, loadReports } from "./reports.js";

const STATUS_COLORS = {
  available: "#2e7d32",
  in_transit: "#1565c0",
  maintenance: "#ef6c00",
  offline: "#757575",
};
const FINAL_JOB = new Set(["COMPLETED", "FAILED", "TIMEOUT", "CANCELLED"]);
const REFRESH_MARGIN_S = 30;

const state = {
  access: null,
  refresh: null,
  refreshTimer: null,
  ws: null,
  unsubscribe: [],
  map: null,
  base: null,
  vehicles: new Map(), // id -> {data, marker, li}
  routes: new Map(), // id -> {data, line, stops, li}
  deviations: new Map(), // route id -> alert
  incidents: new Map(), // id -> {data, marker, li}
};

const $ = (id) => document.getElementById(id);
// GeoJSON Points from the API ([lng, lat]) as {lat, lng}.
const pointOf = (p) => (p && p.coordinates ? { lng: p.coordinates[0], lat: p.coordinates[1] } : p);

class ApiError extends Error {
  constructor(status, error) {
    super(error.message);
    this.status = status;
    this.code = error.code;
  }
}

// The whole envelope (`data` and `meta`); an ApiError when it is not a success.
async function call(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (state.access) init.headers.authorization = `Bearer ${state.access}`;
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, init);
  const json = await response.json();
  if (!json.success) throw new ApiError(response.status, json.error);
  return json;
}

async function api(method, path, body, headers = {}) {
  return (await call(method, path, body, headers)).data;
}

// Sign-in, refresh before expiry, logout -----------------------------------------------

function keepTokens(tokens) {
  state.access = tokens.access_token;
  state.refresh = tokens.refresh_token;
  clearTimeout(state.refreshTimer);
  const inS = Math.max(5, tokens.expires_in - REFRESH_MARGIN_S);
  state.refreshTimer = setTimeout(refreshTokens, inS * 1000);
}

async function refreshTokens() {
  try {
    keepTokens(await api("POST", "/auth/refresh", { refresh_token: state.refresh }));
  } catch {
    signedOut("Your session ended; sign in again.");
  }
}

async function signIn(event) {
  event.preventDefault();
  const error = $("signin-error");
  error.hidden = true;
  try {
    const tokens = await api("POST", "/auth/login", {
      email: $("email").value,
      password: $("password").value,
    });
    keepTokens(tokens);
    $("workspace-name").textContent = tokens.workspace.name;
    $("signin").hidden = true;
    $("console").hidden = false;
    await openConsole();
  } catch (exc) {
    error.textContent =
      exc instanceof ApiError && exc.status === 401 ? "Wrong email or password." : exc.message;
    error.hidden = false;
  }
}

function signedOut(message) {
  clearTimeout(state.refreshTimer);
  state.unsubscribe.forEach((stop) => stop());
  state.unsubscribe = [];
  if (state.ws) state.ws.dispose();
  state.ws = null;
  state.access = state.refresh = null;
  closeReports();
  $("console").hidden = true;
  $("signin").hidden = false;
  $("password").value = "";
  const error = $("signin-error");
  error.textContent = message || "";
  error.hidden = !message;
}

async function logout() {
  try {
    await api("POST", "/auth/logout", {});
  } finally {
    signedOut();
  }
}

// The map ------------------------------------------------------------------------------

async function makeMap() {
  if (state.map) {
    state.map.remove();
  }
  state.vehicles.clear();
  state.routes.clear();
  state.deviations.clear();
  state.incidents.clear();
  for (const id of ["vehicles", "routes", "deviations", "incidents"]) $(id).replaceChildren();
  // A view before any layer: vectors are projected as they are added.
  state.map = L.map("map", { zoomSnap: 0.25 }).setView([0, 0], 2);
  const config = await (await fetch("/console/config.json")).json();
  if (config.map_style_url) {
    L.tileLayer(config.map_style_url, { maxZoom: 19 }).addTo(state.map);
  }
  state.base = L.layerGroup().addTo(state.map);
}

// A grid over the workspace's extent: the base map of an install with no tile server.
function drawGrid(bounds) {
  const padded = bounds.pad(0.2);
  const span = Math.max(padded.getEast() - padded.getWest(), padded.getNorth() - padded.getSouth());
  const step = 10 ** Math.floor(Math.log10(span / 2 || 0.01));
  const style = { color: "#b8c4ce", weight: 1, interactive: false };
  for (let x = Math.floor(padded.getWest() / step) * step; x <= padded.getEast(); x += step) {
    L.polyline([[padded.getSouth(), x], [padded.getNorth(), x]], style).addTo(state.base);
  }
  for (let y = Math.floor(padded.getSouth() / step) * step; y <= padded.getNorth(); y += step) {
    L.polyline([[y, padded.getWest()], [y, padded.getEast()]], style).addTo(state.base);
  }
}

function vehicleText(v) {
  const p = pointOf(v.last_location);
  const at = p ? ` @ ${p.lat.toFixed(5)}, ${p.lng.toFixed(5)}` : "";
  return `${v.plate_number} · ${v.status}${at}`;
}

function showVehicle(v) {
  let entry = state.vehicles.get(v.id);
  if (!entry) {
    const li = document.createElement("li");
    li.dataset.vehicleId = v.id;
    $("vehicles").append(li);
    entry = { data: v, marker: null, li };
    state.vehicles.set(v.id, entry);
  }
  entry.data = v;
  entry.li.className = `status-${v.status}`;
  entry.li.textContent = vehicleText(v);
  entry.li.dataset.status = v.status;
  if (v.last_location) {
    const { lat, lng } = pointOf(v.last_location);
    entry.li.dataset.lat = String(lat);
    entry.li.dataset.lng = String(lng);
    const color = STATUS_COLORS[v.status] || "#333";
    if (!entry.marker) {
      entry.marker = L.circleMarker([lat, lng], {
        radius: 8,
        color: "#fff",
        weight: 2,
        fillColor: color,
        fillOpacity: 1,
        className: "vehicle-marker",
      })
        .bindTooltip(v.plate_number)
        .addTo(state.map);
    } else {
      entry.marker.setLatLng([lat, lng]);
      entry.marker.setStyle({ fillColor: color });
    }
  }
}

function vehicleMoved(moved) {
  const entry = state.vehicles.get(moved.vehicleId);
  if (!entry) return;
  const [lng, lat] = moved.position;
  showVehicle({ ...entry.data, last_location: { lat, lng } });
}

function routeLatLngs(route) {
  const legs = route.path.features.flatMap((f) => f.geometry.coordinates.map(([lng, lat]) => [lat, lng]));
  if (legs.length) return legs;
  return route.stops.map((s) => [s.geo.coordinates[1], s.geo.coordinates[0]]);
}

function showRoute(route) {
  let entry = state.routes.get(route.id);
  if (!entry) {
    const li = document.createElement("li");
    li.dataset.routeId = route.id;
    const label = document.createElement("span");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Optimize";
    button.className = "optimize";
    button.addEventListener("click", () => optimize(route.id));
    li.append(label, " ", button);
    $("routes").append(li);
    entry = { data: route, line: null, stops: L.layerGroup().addTo(state.map), li, label };
    state.routes.set(route.id, entry);
  }
  entry.data = route;
  const km = route.distance_km == null ? "" : ` · ${route.distance_km.toFixed(2)} km`;
  entry.label.textContent = `${route.name} · ${route.status} · ${route.stops.length} stops${km}`;
  entry.li.dataset.status = route.status;
  const latlngs = routeLatLngs(route);
  if (entry.line) entry.line.remove();
  entry.line = latlngs.length > 1
    ? L.polyline(latlngs, { weight: 4, className: "route-line" }).addTo(state.map)
    : null;
  entry.li.dataset.drawn = entry.line ? "true" : "false";
  entry.li.dataset.points = String(latlngs.length);
  entry.stops.clearLayers();
  for (const stop of route.stops) {
    const [lng, lat] = stop.geo.coordinates;
    const eta = stop.arrival_eta ? ` · ETA ${new Date(stop.arrival_eta).toLocaleTimeString()}` : "";
    L.circleMarker([lat, lng], { radius: 5, color: "#1d2733", fillColor: "#fff", fillOpacity: 1 })
      .bindTooltip(`${stop.stop_order + 1}. ${stop.location_name || ""}${eta}`)
      .addTo(entry.stops);
  }
  highlight(route.id);
}

function removeRoute(routeId) {
  const entry = state.routes.get(routeId);
  if (!entry) return;
  if (entry.line) entry.line.remove();
  entry.stops.remove();
  entry.li.remove();
  state.routes.delete(routeId);
}

// A route changed (routeChanged): read it again and redraw it, or take it off the map once
// deleted, completed or cancelled. Only the newest read of a route is drawn.
const CLOSED = new Set(["completed", "cancelled"]);
const reads = new Map(); // route id -> number of the newest read

async function routeChanged(change) {
  const id = change.routeId;
  const seq = (reads.get(id) || 0) + 1;
  reads.set(id, seq);
  let route = null;
  if (change.change !== "DELETED") {
    try {
      route = await api("GET", `/routes/${id}`);
    } catch (exc) {
      if (!(exc instanceof ApiError && exc.status === 404)) throw exc;
    }
  }
  if (reads.get(id) !== seq || !state.map) return;
  if (route === null || CLOSED.has(route.status)) removeRoute(id);
  else showRoute(route);
}

function highlight(routeId) {
  const entry = state.routes.get(routeId);
  const deviating = state.deviations.has(routeId);
  if (entry) {
    entry.li.classList.toggle("deviating", deviating);
    entry.li.dataset.deviating = String(deviating);
    const path = entry.line && entry.line.getElement();
    if (path) path.classList.toggle("deviating", deviating);
  }
}

function showDeviations() {
  const items = [...state.deviations.values()].map((d) => {
    const li = document.createElement("li");
    li.dataset.routeId = d.routeId;
    li.className = "deviating";
    const plate = state.vehicles.get(d.vehicleId)?.data.plate_number || d.vehicleId;
    li.textContent = `${plate}: ${Math.round(d.distanceFromRouteM)} m off route (${d.severity})`;
    return li;
  });
  $("deviations").replaceChildren(...items);
}

function routeDeviation(alert) {
  if (alert.state === "cleared") state.deviations.delete(alert.routeId);
  else state.deviations.set(alert.routeId, alert);
  showDeviations();
  highlight(alert.routeId);
}

function showIncident(incident) {
  let entry = state.incidents.get(incident.id);
  if (!entry) {
    const li = document.createElement("li");
    li.dataset.incidentId = incident.id;
    $("incidents").append(li);
    entry = { data: incident, marker: null, li };
    state.incidents.set(incident.id, entry);
  }
  entry.data = incident;
  const units = incident.assigned_vehicles
    .map((id) => state.vehicles.get(id)?.data.plate_number || id.slice(0, 8))
    .join(", ");
  entry.li.textContent =
    `${incident.severity} ${incident.incident_type} · ${incident.status} · SLA ${incident.sla_state}` +
    (units ? ` · units: ${units}` : "");
  entry.li.dataset.status = incident.status;
  const at = pointOf(incident.location);
  if (at && !entry.marker) {
    entry.marker = L.circleMarker([at.lat, at.lng], {
      radius: 10,
      color: "#b3261e",
      fillColor: "#ffcdd2",
      fillOpacity: 0.9,
    })
      .bindTooltip(`${incident.incident_type} (${incident.severity})`)
      .addTo(state.map);
  }
}

// Optimizing a route -------------------------------------------------------------------

async function optimize(routeId) {
  const panel = $("optimize-panel");
  const bar = $("optimize-progress");
  const result = $("optimize-result");
  panel.hidden = false;
  bar.value = 0;
  bar.dataset.state = "running";
  result.textContent = "Optimizing…";
  let answer;
  try {
    answer = await api("POST", `/routes/${routeId}/optimize`, {}, {
      "Idempotency-Key": crypto.randomUUID(),
    });
  } catch (exc) {
    bar.dataset.state = "failed";
    result.textContent = exc.message;
    return;
  }
  if (answer.route) {
    finishOptimize(routeId, answer.job);
    return;
  }
  const stop = subscribe(
    `subscription ($id: UUID!) { optimizationProgress(jobId: $id) { status elapsedS bestCost } }`,
    { id: answer.job.id },
    ({ optimizationProgress: p }) => {
      if (FINAL_JOB.has(p.status)) {
        stop();
        finishOptimize(routeId, answer.job);
      } else {
        bar.value = Math.min(95, 10 + (p.elapsedS || 0) * 9);
      }
    },
  );
}

async function finishOptimize(routeId, job) {
  const bar = $("optimize-progress");
  const result = $("optimize-result");
  const done = await api("GET", `/jobs/${job.id}`);
  const route = await api("GET", `/routes/${routeId}`);
  showRoute(route);
  bar.value = 100;
  bar.dataset.state = done.status;
  const r = done.result || {};
  if (done.status === "failed") {
    result.textContent = `Failed: ${done.error_message || "no solution"}`;
  } else if (r.submitted_distance_m != null && r.distance_m != null) {
    const saved = (r.submitted_distance_m - r.distance_m) / 1000;
    result.textContent = `${route.name}: ${(r.distance_m / 1000).toFixed(2)} km, saved ${saved.toFixed(2)} km (${r.solver})`;
  } else {
    result.textContent = `${route.name}: ${route.distance_km?.toFixed(2)} km`;
  }
}

// Live updates -------------------------------------------------------------------------

function subscribe(query, variables, next) {
  return state.ws.subscribe(
    { query, variables },
    { next: ({ data }) => data && next(data), error: (e) => console.warn(e), complete: () => {} },
  );
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const badge = $("live-state");
  state.ws = createClient({
    url: `${scheme}://${location.host}/graphql`,
    connectionParams: () => ({ Authorization: `Bearer ${state.access}` }),
    retryAttempts: Infinity,
    on: {
      connected: () => {
        badge.textContent = "live";
        badge.className = "badge live";
      },
      closed: () => {
        badge.textContent = "reconnecting";
        badge.className = "badge";
      },
    },
  });
  state.unsubscribe.push(
    subscribe(
      "subscription { vehicleMoved { vehicleId position speed heading recordedAt } }",
      {},
      (d) => vehicleMoved(d.vehicleMoved),
    ),
    subscribe(
      "subscription { routeDeviation { vehicleId routeId distanceFromRouteM severity state } }",
      {},
      (d) => routeDeviation(d.routeDeviation),
    ),
    subscribe("subscription { routeChanged { routeId change } }", {}, (d) =>
      routeChanged(d.routeChanged).catch((exc) => console.warn(exc)),
    ),
  );
}

async function optional(path) {
  try {
    return await api("GET", path);
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 403) return null; // not for this role
    throw exc;
  }
}

async function openConsole() {
  await makeMap();
  const [vehicles, locations, routes, deviations, incidents] = await Promise.all([
    optional("/vehicles?per_page=100"),
    optional("/locations?per_page=100"),
    optional("/routes?per_page=50"),
    optional("/tracking/deviations"),
    optional("/incidents?per_page=50"),
  ]);
  const points = [];
  for (const v of vehicles || []) {
    showVehicle(v);
    const p = pointOf(v.last_location);
    if (p) points.push([p.lat, p.lng]);
  }
  for (const loc of locations || []) {
    const p = pointOf(loc.geo);
    if (!p) continue;
    points.push([p.lat, p.lng]);
    L.circleMarker([p.lat, p.lng], { radius: 3, color: "#556", fillOpacity: 0.6 })
      .bindTooltip(loc.name)
      .addTo(state.base);
  }
  const open = (routes || []).filter((r) => !CLOSED.has(r.status));
  for (const r of await Promise.all(open.map((r) => api("GET", `/routes/${r.id}`)))) {
    showRoute(r);
    points.push(...routeLatLngs(r));
  }
  for (const d of deviations || []) {
    state.deviations.set(d.route_id, {
      vehicleId: d.vehicle_id,
      routeId: d.route_id,
      distanceFromRouteM: d.distance_from_route_m,
      severity: d.severity,
      state: "raised",
    });
    highlight(d.route_id);
  }
  showDeviations();
  $("incidents-section").hidden = incidents === null;
  for (const i of incidents || []) showIncident(i);
  const bounds = points.length ? L.latLngBounds(points) : L.latLngBounds([[-10, -10], [10, 10]]);
  drawGrid(bounds);
  state.map.fitBounds(bounds.pad(0.1));
  connect();
  showReports();
  if (incidents !== null) {
    state.unsubscribe.push(
      subscribe("subscription { incidentUpdated { incidentId } }", {}, async (d) => {
        showIncident(await api("GET", `/incidents/${d.incidentUpdated.incidentId}`));
      }),
    );
  }
  document.body.dataset.ready = "true";
}

function showReports() {
  loadReports((path) => call("GET", path)).catch((exc) => console.warn(exc));
}

$("signin-form").addEventListener("submit", signIn);
$("logout").addEventListener("click", logout);
$("report-range").addEventListener("change", showReports);
$("reports-refresh").addEventListener("click", showReports);
