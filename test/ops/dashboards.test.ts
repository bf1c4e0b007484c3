import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Service } from "../../src/service.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv } from "../helpers/service.ts";

// Issue 19: the Grafana dashboard (ops/grafana/threadbridge.json) and the Prometheus alert rules
// (ops/prometheus/alerts.yaml) name only metrics the service serves. Each expression is read, its
// metric names taken out, and each looked up among the metric families of a running service's
// /metrics (web and worker in one process, so both roles' families are there).

const ROOT = new URL("../../", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, ROOT), "utf8");

// PromQL's functions, aggregations and keywords (what may precede a parenthesis or join two sides).
const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "offset",
]);

/** The metric names an expression selects. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // string literals (label values, regexes)
    .replace(/\{[^}]*\}/g, " ") // label matchers
    .replace(/\[[^\]]*\]/g, " ") // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ") // label lists
    .replace(/\$\{?\w+\}?/g, " "); // Grafana variables
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (call || !name || KEYWORDS.has(name)) continue;
    names.add(name);
  }
  return [...names];
}

type Panel = { title?: string; type?: string; panels?: Panel[]; targets?: Array<{ expr?: string }> };
const dashboard = JSON.parse(read("ops/grafana/threadbridge.json")) as { uid: string; panels: Panel[] };
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== "row");
const panelExprs = panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr ?? "" })),
);

type Rule = {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};
const rules = (
  parse(read("ops/prometheus/alerts.yaml")) as { groups: Array<{ name: string; rules: Rule[] }> }
).groups.flatMap((g) => g.rules);
const ruleExprs = rules.map((r) => ({ where: `alert ${r.alert}`, expr: String(r.expr ?? "") }));

let t: TestEnv;
let service: Service;
/** Metric family → type, from `# TYPE` lines. */
let families: Map<string, string>;

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND);
  service = await startTestService(t);
  const text = await (await fetch(`${service.url}/metrics`)).text();
  families = new Map(
    [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
});

afterAll(async () => {
  await service?.stop();
  await t?.cleanup();
});

/** Whether /metrics serves `name`: a family, or a histogram's or summary's series. */
function served(name: string): boolean {
  if (families.has(name)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  return m !== null && ["histogram", "summary"].includes(families.get(m[1] as string) ?? "");
}

it("reads metric names out of PromQL", () => {
  expect(
    metricNames(
      'histogram_quantile(0.99, sum by (le) (rate(a_seconds_bucket{route="/x",q=~"a|b"}[5m]))) > 60 unless sum(increase(b_total[15m])) > 0 and on(job) time() - max by (account) (c{x="y"}) > 86400 * 1.5e3',
    ).sort(),
  ).toEqual(["a_seconds_bucket", "b_total", "c"]);
  expect(metricNames("rate(process_cpu_seconds_total[$__rate_interval])")).toEqual([
    "process_cpu_seconds_total",
  ]);
});

describe("the dashboard and the alert rules", () => {
  it("have expressions", () => {
    expect(panelExprs.length).toBeGreaterThan(15);
    expect(ruleExprs.length).toBeGreaterThanOrEqual(7);
    for (const { where, expr } of [...panelExprs, ...ruleExprs])
      expect(metricNames(expr).length, where).toBeGreaterThan(0);
  });

  it("name only metrics /metrics serves", () => {
    const missing = [...panelExprs, ...ruleExprs].flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !served(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(missing).toEqual([]);
  });

  it("use Node's standard process metrics, never prefixed ones", () => {
    const names = [...panelExprs, ...ruleExprs].flatMap(({ expr }) => metricNames(expr));
    for (const name of [
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
      "nodejs_eventloop_lag_p99_seconds",
    ])
      expect(names).toContain(name);
    expect(names.filter((n) => /^threadbridge_(process|nodejs)_/.test(n))).toEqual([]);
  });

  it("cover what the issue asks to watch", () => {
    const panelNames = new Set(panelExprs.flatMap(({ expr }) => metricNames(expr)));
    for (const name of [
      "threadbridge_webhook_events_total",
      "threadbridge_job_latency_seconds_bucket",
      "threadbridge_queue_depth",
      "threadbridge_outbound_messages_total",
      "threadbridge_outbound_deferred_total",
      "threadbridge_chat_platform_up",
      "threadbridge_chat_destination_up",
      "threadbridge_chat_destination_held",
    ])
      expect(panelNames).toContain(name);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        "ThreadbridgeDeadLetters",
        "ThreadbridgeJobLatencyHigh",
        "ThreadbridgeRepliesNotLeaving",
        "ThreadbridgeTokenInvalid",
        "ThreadbridgeChatPlatformFailing",
        "ThreadbridgeChatDestinationFailing",
        "ThreadbridgeChatDestinationHeld",
        "ThreadbridgeWebhookSilence",
      ]),
    );
  });

  it("give every alert a duration, a severity and a summary, and every panel a description", () => {
    for (const r of rules) {
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
      expect(["warning", "critical"], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toMatch(/\S/);
      expect(r.annotations?.description, r.alert).toMatch(/\S/);
    }
    for (const p of panels) expect((p as { description?: string }).description, p.title).toMatch(/\S/);
    expect(dashboard.uid).toBe("threadbridge");
  });
});
