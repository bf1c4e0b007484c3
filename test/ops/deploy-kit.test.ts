import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { platforms } from "../../adapters/index.ts";
import { variables } from "../../src/config/config.ts";
import type { Service } from "../../src/service.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { cli } from "../helpers/cli.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv } from "../helpers/service.ts";

needsDatabaseServer("the Procfile's web and worker run as separate processes on one database");

// Issue 19: the deploy kit says what the product does. The Kubernetes example (ops/kubernetes/) and
// compose.yaml run the roles the CLI has, on the ports the service listens on, probe routes it
// serves, set only variables it declares, and use one image at the package's version; the
// ServiceMonitor scrapes a port a Service names, at the path /metrics is served on.

const ROOT = new URL("../../", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, ROOT), "utf8");
const VERSION = (JSON.parse(read("package.json")) as { version: string }).version;
const DECLARED = new Set(variables(platforms).map((v) => v.name));

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Every document of every YAML file under ops/kubernetes/. */
const k8s: Array<Obj & { file: string }> = readdirSync(new URL("ops/kubernetes/", ROOT))
  .filter((f) => f.endsWith(".yaml"))
  .flatMap((file) =>
    parseAllDocuments(read(`ops/kubernetes/${file}`)).map((d) => {
      expect(d.errors, file).toEqual([]);
      return { ...obj(d.toJS()), file };
    }),
  );
const ofKind = (kind: string) => k8s.filter((d) => d.kind === kind);
const named = (kind: string, name: string) => {
  const found = ofKind(kind).find((d) => obj(d.metadata).name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ops/kubernetes`);
  return found;
};
const podSpec = (workload: Obj) => obj(obj(obj(workload.spec).template).spec);
const containerOf = (workload: Obj) => {
  const [container, ...more] = list(podSpec(workload).containers).map(obj);
  expect(more).toEqual([]);
  return obj(container);
};
const envOf = (container: Obj) =>
  Object.fromEntries(list(container.env).map((e) => [obj(e).name as string, obj(e).value as string]));

/** The Procfile's roles: `name: node [V8 flags] bin/threadbridge.js COMMAND`. */
const PROCFILE = Object.fromEntries(
  read("Procfile")
    .trim()
    .split("\n")
    .map((line) => {
      const m = /^(\w+): node (?:--[\w-]+=\d+ )*bin\/threadbridge\.js (\w+)$/.exec(line);
      if (!m) throw new Error(`Procfile line not understood: ${line}`);
      return [m[1], m[2]];
    }),
) as Record<string, string>;

let t: TestEnv;
let web: Service;
let worker: Service;
let commands: string[];

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND, { METRICS_PORT: "0" });
  web = await startTestService(t, { worker: false });
  worker = await startTestService(t, { web: false, migrate: false });
  const help = await cli(["--help"], t.env);
  commands = [...help.stdout.matchAll(/^ {2}([a-z-]+)\b/gm)].map((m) => m[1] as string);
});

afterAll(async () => {
  await web?.stop();
  await worker?.stop();
  await t?.cleanup();
});

/** GET `path` on a running role: the status. */
async function status(service: Service, path: string): Promise<number> {
  const res = await fetch(`${service.url}${path}`);
  await res.arrayBuffer();
  return res.status;
}

describe("the Procfile", () => {
  it("names commands the CLI has", () => {
    expect(PROCFILE).toEqual({ web: "web", worker: "worker", release: "migrate" });
    for (const command of Object.values(PROCFILE)) expect(commands).toContain(command);
  });
});

describe("ops/kubernetes", () => {
  const workloads = {
    web: named("Deployment", "threadbridge-web"),
    worker: named("Deployment", "threadbridge-worker"),
    release: named("Job", "threadbridge-migrate"),
  };

  it("runs the Procfile's roles from one image at the package's version", () => {
    const kustomization = obj(parse(read("ops/kubernetes/kustomization.yaml")));
    const images = list(kustomization.images).map(obj);
    expect(images).toEqual([expect.objectContaining({ name: "threadbridge", newTag: VERSION })]);
    for (const [role, workload] of Object.entries(workloads)) {
      const c = containerOf(workload);
      expect(c.image, `${role}`).toBe(`threadbridge:${VERSION}`);
      expect(c.args, role).toEqual([PROCFILE[role]]);
      expect(c.command, `${role}: the image's entry point runs the CLI`).toBeUndefined();
    }
    // Every file the kustomization lists exists; the Secret is the operator's to create.
    const files = readdirSync(new URL("ops/kubernetes/", ROOT));
    for (const r of list(kustomization.resources)) expect(files).toContain(r);
    expect(list(kustomization.resources)).not.toContain("secret.example.yaml");
  });

  it("reads configuration from the threadbridge ConfigMap and Secret, naming only declared variables", () => {
    const secret = named("Secret", "threadbridge");
    const config = named("ConfigMap", "threadbridge");
    for (const key of [...Object.keys(obj(secret.stringData)), ...Object.keys(obj(config.data))])
      expect(DECLARED, key).toContain(key);
    // The Secret holds every secret the deployment needs and the ServiceMonitor's token.
    for (const key of ["DATABASE_URL", "TOKEN_ENCRYPTION_KEY", "IG_APP_SECRET", "METRICS_TOKEN"])
      expect(Object.keys(obj(secret.stringData))).toContain(key);
    for (const [role, workload] of Object.entries(workloads)) {
      const c = containerOf(workload);
      expect(list(c.envFrom), role).toEqual([
        { configMapRef: { name: "threadbridge" } },
        { secretRef: { name: "threadbridge" } },
      ]);
      for (const name of Object.keys(envOf(c))) expect(DECLARED, `${role}: ${name}`).toContain(name);
      expect(obj(podSpec(workload).securityContext)).toMatchObject({ runAsNonRoot: true });
    }
  });

  it("listens where the service does and probes routes it serves", async () => {
    const roles = [
      { workload: workloads.web, service: web, port: (c: Obj) => Number(envOf(c).PORT ?? 3000) },
      { workload: workloads.worker, service: worker, port: (c: Obj) => Number(envOf(c).METRICS_PORT) },
    ];
    for (const { workload, service, port } of roles) {
      const c = containerOf(workload);
      const ports = list(c.ports).map(obj);
      expect(ports).toHaveLength(1);
      const [declared] = ports;
      // The container port is the one the process listens on, given its environment.
      expect(declared?.containerPort).toBe(port(c));
      for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        const get = obj(obj(c[probe]).httpGet);
        expect(get.port, probe).toBe(declared?.name);
        expect(await status(service, get.path as string), `${probe} ${get.path}`).toBe(200);
      }
      expect(obj(c.livenessProbe).httpGet).toMatchObject({ path: "/healthz" });
      expect(obj(c.readinessProbe).httpGet).toMatchObject({ path: "/readyz" });
    }
  });

  it("routes each Service to a named container port of the pods it selects", () => {
    for (const svc of ofKind("Service")) {
      const selector = obj(obj(svc.spec).selector);
      const pods = [...ofKind("Deployment"), ...ofKind("Job")].filter((w) => {
        const labels = obj(obj(obj(obj(w.spec).template).metadata).labels);
        return Object.entries(selector).every(([k, v]) => labels[k] === v);
      });
      expect(pods, `${obj(svc.metadata).name} selects one workload`).toHaveLength(1);
      const names = list(containerOf(pods[0] as Obj).ports).map((p) => obj(p).name);
      for (const p of list(obj(svc.spec).ports).map(obj)) expect(names).toContain(p.targetPort);
    }
  });

  it("scrapes /metrics on ports the Services name, with the Secret's METRICS_TOKEN", async () => {
    const monitor = named("ServiceMonitor", "threadbridge");
    const selector = obj(obj(obj(monitor.spec).selector).matchLabels);
    const services = ofKind("Service").filter((s) =>
      Object.entries(selector).every(([k, v]) => obj(obj(s.metadata).labels)[k] === v),
    );
    const servicePorts = services.flatMap((s) => list(obj(s.spec).ports).map((p) => obj(p).name));
    const endpoints = list(obj(monitor.spec).endpoints).map(obj);
    expect(endpoints.map((e) => e.port).sort()).toEqual([...servicePorts].sort());
    for (const e of endpoints) {
      expect(e.path).toBe("/metrics");
      expect(e.authorization).toEqual({
        type: "Bearer",
        credentials: { name: "threadbridge", key: "METRICS_TOKEN" },
      });
    }
    for (const service of [web, worker])
      expect(await (await fetch(`${service.url}/metrics`)).text()).toContain("threadbridge_build_info{");
  });

  it("migrates in a Job that runs to completion and goes away", () => {
    const job = workloads.release;
    expect(podSpec(job).restartPolicy).toMatch(/^(OnFailure|Never)$/);
    expect(obj(job.spec).ttlSecondsAfterFinished).toBeGreaterThan(0);
  });
});

describe("compose.yaml", () => {
  const compose = obj(parse(read("compose.yaml"), { merge: true }));
  const services = obj(compose.services);
  const service = (name: string) => obj(services[name]);

  it("runs the Procfile's roles from the image it builds, with Postgres and Redis", () => {
    expect(Object.keys(services).sort()).toEqual(["postgres", "redis", "release", "web", "worker"]);
    for (const role of ["release", "web", "worker"]) {
      const s = service(role);
      expect(s.command, role).toEqual([PROCFILE[role]]);
      expect(s.build, role).toBe(".");
      expect(s.image, role).toBe("threadbridge:local");
      expect(s.env_file, role).toEqual([{ path: ".env", required: false }]);
      const env = obj(s.environment);
      for (const name of Object.keys(env)) expect(DECLARED, `${role}: ${name}`).toContain(name);
      expect(String(env.DATABASE_URL)).toMatch(/@postgres:5432\//);
      expect(env.REDIS_URL).toBe("redis://redis:6379");
    }
    expect(obj(service("release").depends_on)).toEqual({ postgres: { condition: "service_healthy" } });
    for (const role of ["web", "worker"])
      expect(obj(service(role).depends_on)).toMatchObject({
        release: { condition: "service_completed_successfully" },
      });
  });

  it("publishes the port web listens on and checks the worker's health on its METRICS_PORT", () => {
    const webEnv = obj(service("web").environment);
    expect(list(service("web").ports)).toEqual([`\${THREADBRIDGE_PORT:-3000}:${webEnv.PORT}`]);
    const workerEnv = obj(service("worker").environment);
    expect(obj(service("worker").healthcheck).test).toEqual([
      "CMD",
      "node",
      "bin/healthcheck.js",
      workerEnv.METRICS_PORT,
    ]);
  });
});
