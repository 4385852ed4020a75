// The analytics reports as charts (uPlot, drawn on canvas from the reports' JSON): distance
// saved per day, fleet utilization, incident response times (p50/p90), quantum against
// classical. Each chart says how fresh its report is (`meta.as_of`) and when it has nothing
// to show; a role below analyst gets one line instead of the panels.
import uPlot from "uplot";

const DAY_S = 86400;
const BLUE = "#1565c0";
const charts = new Map(); // chart name -> uPlot

const $ = (id) => document.getElementById(id);
const figure = (name) => document.querySelector(`figure.report[data-chart="${name}"]`);

// Every UTC day of the report's range, as epoch seconds, and its groups keyed by day.
function days(report) {
  const first = Date.parse(report.from.slice(0, 10) + "T00:00:00Z") / 1000;
  const last = Date.parse(report.to) / 1000 - 1;
  const out = [];
  for (let t = first; t <= last; t += DAY_S) out.push(t);
  return out;
}

function perDay(report, value) {
  const byDay = new Map(report.groups.map((g) => [g.key, g]));
  const xs = days(report);
  const ys = xs.map((t) => {
    const group = byDay.get(new Date(t * 1000).toISOString().slice(0, 10));
    return group ? value(group) : null;
  });
  return [xs, ys];
}

const round = (n, digits = 1) => (n == null ? null : Number(n.toFixed(digits)));
const count = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function asOfText(asOf) {
  if (!asOf) return "No events folded yet";
  const at = new Date(asOf);
  return `As of ${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function show(name, { state, asOf, empty, note, points = 0 }) {
  const fig = figure(name);
  fig.dataset.state = state;
  fig.dataset.points = String(points);
  fig.dataset.asOf = asOf || "";
  fig.querySelector(".as-of").textContent = state === "error" ? "" : asOfText(asOf);
  const emptyText = fig.querySelector(".empty");
  emptyText.textContent = empty || "";
  emptyText.hidden = !empty;
  fig.querySelector(".note").textContent = note || "";
  fig.querySelector(".plot").hidden = state !== "drawn";
}

function plot(name, options, data) {
  const old = charts.get(name);
  if (old) old.destroy();
  const box = figure(name).querySelector(".plot");
  box.hidden = false;
  const width = Math.max(240, box.clientWidth || 480);
  const chart = new uPlot({ width, height: 180, legend: { show: false }, ...options }, data, box);
  charts.set(name, chart);
  return data[1].filter((v) => v != null).length;
}

const bars = (label, stroke, fill, scale = "y") => ({
  label,
  stroke,
  fill,
  scale,
  paths: uPlot.paths.bars({ size: [0.7, 40] }),
  points: { show: false },
});

function dayAxes(unit) {
  return [{ values: "{MMM} {D}" }, { label: unit, size: 56 }];
}

// Half a day either side, so that the first and last days' bars and points are whole.
const dayScale = { time: true, range: (u, min, max) => [min - DAY_S / 2, max + DAY_S / 2] };

function drawSaved(report, asOf) {
  const name = "saved";
  if (!report.totals.optimizations) {
    show(name, { state: "empty", asOf, empty: "No optimizations in this range." });
    return;
  }
  const data = perDay(report, (g) => round((g.saved_vs_submitted_m || 0) / 1000, 2));
  const points = plot(
    name,
    {
      series: [{}, bars("Saved vs submitted order (km)", BLUE, "#1565c0aa")],
      scales: { x: dayScale },
      axes: dayAxes("km"),
    },
    data,
  );
  const t = report.totals;
  const pct = t.saved_vs_submitted_pct == null ? "" : ` (${t.saved_vs_submitted_pct.toFixed(1)} %)`;
  show(name, {
    state: "drawn",
    asOf,
    points,
    note: `${count(t.optimizations, "optimization")}, ${((t.saved_vs_submitted_m || 0) / 1000).toFixed(2)} km saved${pct}`,
  });
}

function drawUtilization(report, asOf) {
  const name = "utilization";
  const data = perDay(report, (g) => (g.utilization == null ? null : round(g.utilization * 100)));
  if (!data[1].some((v) => v != null)) {
    show(name, { state: "empty", asOf, empty: "No vehicle activity in this range." });
    return;
  }
  const points = plot(
    name,
    {
      series: [{}, bars("In transit (% of tracked time)", "#2e7d32", "#2e7d32aa")],
      scales: { x: dayScale, y: { range: [0, 100] } },
      axes: dayAxes("%"),
    },
    data,
  );
  const t = report.totals;
  const util = t.utilization == null ? "n/a" : `${(t.utilization * 100).toFixed(1)} %`;
  show(name, {
    state: "drawn",
    asOf,
    points,
    note: `${util} over the range; ${count(t.vehicles_known, "vehicle")}, ${t.idle_vehicles} idle`,
  });
}

function drawResponse(report, asOf) {
  const name = "response";
  if (!report.totals.incidents_responded) {
    show(name, { state: "empty", asOf, empty: "No incident responses in this range." });
    return;
  }
  const [xs, p50] = perDay(report, (g) => round(g.response_p50_s == null ? null : g.response_p50_s / 60));
  const [, p90] = perDay(report, (g) => round(g.response_p90_s == null ? null : g.response_p90_s / 60));
  const line = (label, stroke) => ({ label, stroke, width: 2, points: { show: true, size: 7 } });
  const points = plot(
    name,
    {
      series: [{}, line("p50 (min)", BLUE), line("p90 (min)", "#b3261e")],
      scales: { x: dayScale },
      axes: dayAxes("min"),
      legend: { show: true, live: false },
    },
    [xs, p50, p90],
  );
  const t = report.totals;
  const minutes = (s) => (s == null ? "n/a" : `${(s / 60).toFixed(1)} min`);
  show(name, {
    state: "drawn",
    asOf,
    points,
    note: `${count(t.incidents_responded, "response")}; p50 ${minutes(t.response_p50_s)}, p90 ${minutes(t.response_p90_s)}`,
  });
}

const OUTCOMES = [
  ["improved", "Improved"],
  ["matched", "Matched"],
  ["lost", "Lost"],
  ["fell_back", "Fell back"],
];

function drawQuantum(report, asOf) {
  const name = "quantum";
  const t = report.totals;
  if (!t.jobs) {
    show(name, { state: "empty", asOf, empty: "No quantum or hybrid jobs in this range." });
    return;
  }
  const xs = OUTCOMES.map((_, i) => i);
  const counts = OUTCOMES.map(([key]) => t[key] || 0);
  plot(
    name,
    {
      series: [{}, bars("Jobs", "#6a1b9a", "#6a1b9aaa")],
      scales: {
        x: { time: false, range: [-0.5, OUTCOMES.length - 0.5] },
        y: { range: (u, min, max) => [0, Math.max(1, max)] },
      },
      axes: [
        { splits: () => xs, values: (u, splits) => splits.map((i) => OUTCOMES[i]?.[1] ?? "") },
        { label: "jobs", size: 56, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
      ],
    },
    [xs, counts],
  );
  const gap =
    t.gaps_measured > 0
      ? `gap to the exact optimum: average ${t.gap_to_exact_avg}, worst ${t.gap_to_exact_max} over ${t.gaps_measured} measured (${t.exact_optimum_found} exact)`
      : "no gap to the exact optimum measured";
  show(name, {
    state: "drawn",
    asOf,
    points: counts.filter((c) => c > 0).length,
    note: `${count(t.jobs, "job")} against the classical answer; ${gap}`,
  });
}

// Each report, and the charts drawn from it.
const DRAW = [
  ["efficiency", [["saved", drawSaved]]],
  ["fleet", [["utilization", drawUtilization], ["response", drawResponse]]],
  ["quantum", [["quantum", drawQuantum]]],
];
const CHART_NAMES = DRAW.flatMap(([, draws]) => draws.map(([name]) => name));

// `request(path)` answers the whole envelope, or throws an error with its HTTP `status`.
export async function loadReports(request) {
  const section = $("reports");
  const days = Number($("report-range").value);
  const to = new Date();
  const from = new Date(to.getTime() - days * DAY_S * 1000);
  const query = `?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}&group_by=day`;
  section.dataset.state = "loading";
  const answers = await Promise.allSettled(DRAW.map(([report]) => request(`/analytics/${report}${query}`)));
  const forbidden = answers.some((a) => a.status === "rejected" && a.reason.status === 403);
  $("reports-forbidden").hidden = !forbidden;
  $("report-grid").hidden = forbidden;
  $("report-controls").hidden = forbidden;
  if (forbidden) {
    for (const name of CHART_NAMES) show(name, { state: "forbidden" });
    section.dataset.state = "forbidden";
    return;
  }
  DRAW.forEach(([, draws], i) => {
    const answer = answers[i];
    for (const [name, draw] of draws) {
      if (answer.status === "fulfilled") {
        draw(answer.value.data, answer.value.meta?.as_of);
      } else {
        show(name, { state: "error", empty: `Could not load the report: ${answer.reason.message}` });
      }
    }
  });
  section.dataset.state = "ready";
}

// Charts follow the width of their panels.
window.addEventListener("resize", () => {
  for (const [name, chart] of charts) {
    const box = figure(name).querySelector(".plot");
    if (box.clientWidth) chart.setSize({ width: box.clientWidth, height: 180 });
  }
});

export function closeReports() {
  for (const chart of charts.values()) chart.destroy();
  charts.clear();
}
