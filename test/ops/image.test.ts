import { execFile, execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RoleProcess, startCommand } from "../helpers/role-process.ts";
import { freePort } from "../helpers/servers.ts";
import { TEST_BACKEND, type TestEnv, testEnv } from "../helpers/service.ts";

// Issue 19: the Dockerfile, checked two ways. Where a container builder runs (a Docker or Podman
// daemon), the image is built and run. Everywhere, the Dockerfile's own steps are reproduced
// outside a container: its dependency stage's install command in a fresh directory holding only
// what it copies, then the final stage's files beside it, and the service started from there with
// the image's environment, entry point and command, answering its HEALTHCHECK. That proves the
// production install (no devDependencies) has everything the service loads, and that the image's
// commands are the right ones; what it cannot prove (the base image, apt's fonts, the user) is
// checked as text below and by the build where one can run.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string })
  .version;
const run = promisify(execFile);

/** Prints whether @napi-rs/canvas (the digest chart) sees the DejaVu Sans family. */
const HAS_DEJAVU =
  "import('@napi-rs/canvas').then(({ GlobalFonts }) => process.stdout.write(String(GlobalFonts.families.some((f) => f.family === 'DejaVu Sans'))))";

interface Instruction {
  op: string;
  args: string;
}

/** The Dockerfile's instructions per stage (continuation lines joined, comments dropped). */
function stages(text: string): Instruction[][] {
  const joined = text.replace(/\\\n\s*/g, " ");
  const out: Instruction[][] = [];
  for (const line of joined.split("\n")) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (!m || line.trim().startsWith("#")) continue;
    const ins = { op: m[1] as string, args: (m[2] as string).trim() };
    if (ins.op === "FROM") out.push([]);
    out.at(-1)?.push(ins);
  }
  return out;
}

const dockerfile = readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
const [deps = [], final = []] = stages(dockerfile);
const all = (stage: Instruction[], op: string) => stage.filter((i) => i.op === op).map((i) => i.args);
const one = (stage: Instruction[], op: string) => {
  const found = all(stage, op);
  expect(found, op).toHaveLength(1);
  return found[0] as string;
};
/** COPY's sources, for the copies from the build context (not from another stage). */
const copied = (stage: Instruction[]) =>
  all(stage, "COPY")
    .filter((args) => !args.startsWith("--from"))
    .flatMap((args) => args.split(/\s+/).slice(0, -1));
/** ENV k=v k=v… */
const envOf = (stage: Instruction[]) =>
  Object.fromEntries(
    all(stage, "ENV").flatMap((args) => args.split(/\s+/).map((kv) => kv.split("=") as [string, string])),
  );
const execForm = (args: string) => JSON.parse(args.replace(/^.*?CMD\s+/, "")) as string[];

describe("the Dockerfile", () => {
  it("builds on Node 24, installs production dependencies only, runs as a non-root user", () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-/m);
    expect(one(deps, "RUN")).toMatch(/^npm ci --omit=dev\b/);
    expect(copied(deps)).toEqual(["package.json", "package-lock.json"]);
    expect(all(final, "COPY")).toContainEqual("--from=deps /app/node_modules ./node_modules");
    expect(one(final, "USER")).toBe("node");
    expect(execForm(one(final, "ENTRYPOINT"))).toEqual([
      "node",
      "--max-semi-space-size=8",
      "bin/threadbridge.js",
    ]);
    expect(execForm(one(final, "CMD"))).toEqual(["start"]);
  });

  it("installs the fonts the digest chart draws with", () => {
    const chart = readFileSync(path.join(ROOT, "src/digest/chart.ts"), "utf8");
    expect(chart).toMatch(/const FONT = "'DejaVu Sans'/);
    expect(all(final, "RUN").join("\n")).toMatch(
      /apt-get install -y --no-install-recommends fonts-dejavu-core/,
    );
  });

  it("checks its health with /healthz", () => {
    expect(execForm(one(final, "HEALTHCHECK"))).toEqual(["node", "bin/healthcheck.js"]);
  });
});

describe("the Dockerfile's steps, reproduced without a container", () => {
  let dir: string;
  let t: TestEnv;
  let service: RoleProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "threadbridge-image-"));
    t = await testEnv(TEST_BACKEND);
    // The dependency stage: its files, then its RUN, with this machine's npm under Node 24.
    for (const file of copied(deps)) cpSync(path.join(ROOT, file), path.join(dir, file));
    await run("sh", ["-c", one(deps, "RUN")], {
      cwd: dir,
      // From npm's cache when it has the packages (as a build cache would), the registry otherwise.
      env: {
        ...process.env,
        PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
        npm_config_prefer_offline: "true",
      },
      timeout: 240_000,
    });
    // The final stage's files from the build context.
    for (const file of copied(final))
      cpSync(path.join(ROOT, file), path.join(dir, file), { recursive: true });
  }, 300_000);

  /** The image's compile cache directory, here inside the test's directory. */
  const compileCache = () => path.join(dir, ".node-compile-cache");

  it("fills the compile cache at build time with every module of src/ and adapters/", async () => {
    expect(envOf(final).NODE_COMPILE_CACHE).toBe("/app/.node-compile-cache");
    const warm = all(final, "RUN").find((r) => r.startsWith("node bin/warm-compile-cache.js"));
    expect(warm).toBe("node bin/warm-compile-cache.js");
    const { stdout } = await run("sh", ["-c", warm as string], {
      cwd: dir,
      env: {
        ...process.env,
        PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
        NODE_ENV: "production",
        NODE_COMPILE_CACHE: compileCache(),
      },
      timeout: 120_000,
    });
    const [, loaded, total] = /compile cache: (\d+) of (\d+) modules/.exec(stdout) ?? [];
    expect(Number(total)).toBeGreaterThan(200);
    expect(loaded).toBe(total);
  }, 150_000);

  afterAll(async () => {
    await service?.stop();
    await t?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("has no development-only package installed", () => {
    // The lock file marks what only devDependencies need (`dev: true`); a devDependency that a
    // production dependency also needs (@types/express, through Bolt) is not marked.
    type Lock = { packages: Record<string, { dev?: boolean }> };
    const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as Lock;
    const devOnly = Object.entries(lock.packages)
      .filter(([, p]) => p.dev)
      .map(([name]) => name);
    expect(devOnly).toContain("node_modules/vitest");
    const installed = new Set(
      Object.keys(
        (JSON.parse(readFileSync(path.join(dir, "node_modules/.package-lock.json"), "utf8")) as Lock)
          .packages,
      ),
    );
    expect(devOnly.filter((name) => installed.has(name))).toEqual([]);
    expect(installed).toContain("node_modules/@napi-rs/canvas");
  });

  it("answers --version and loads the chart's canvas from the production install", async () => {
    const [node, ...flags] = execForm(one(final, "ENTRYPOINT"));
    expect(node).toBe("node");
    const entry = flags.pop() as string;
    const version = await run(process.execPath, [...flags, entry, "--version"], { cwd: dir });
    expect(version.stdout).toBe(`${VERSION}\n`);
    const canvas = await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        'const { createCanvas } = await import("@napi-rs/canvas"); const c = createCanvas(20, 20); c.getContext("2d").fillText("x", 1, 10); process.stdout.write(String(c.toBuffer("image/png").length > 0));',
      ],
      { cwd: dir },
    );
    expect(canvas.stdout).toBe("true");
  });

  it("starts with the image's environment and command and passes its HEALTHCHECK", {
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const image = envOf(final);
    expect(image).toMatchObject({ NODE_ENV: "production", PORT: "3000" });
    const [, ...nodeFlags] = execForm(one(final, "ENTRYPOINT"));
    const entry = nodeFlags.pop() as string;
    service = startCommand(
      execForm(one(final, "CMD")),
      {
        ...t.env,
        ...image,
        // The image's /data is a volume; here a directory of the test's, as is its compile cache.
        DATA_DIR: t.env.DATA_DIR as string,
        NODE_COMPILE_CACHE: compileCache(),
        PORT: String(port),
        LOG_LEVEL: "info",
      },
      { bin: path.join(dir, entry), cwd: dir, nodeFlags },
    );
    await service.line((e) => e.msg === "http listening", 90_000);
    const [node, script] = execForm(one(final, "HEALTHCHECK"));
    expect(node).toBe("node");
    const check = await run(process.execPath, [script as string], {
      cwd: dir,
      env: { ...process.env, PORT: String(port) },
    });
    expect(check.stdout).toBe("");
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain(`threadbridge_build_info{version="${VERSION}",node="${process.version}"} 1`);
    expect((await service.stop()).code).toBe(0);
    // The health check fails once nothing answers.
    await expect(
      run(process.execPath, [script as string], { cwd: dir, env: { ...process.env, PORT: String(port) } }),
    ).rejects.toMatchObject({ code: 1 });
  });
});

/** A container builder with a daemon that answers, or why there is none. */
function builder(): { command: string } | { missing: string } {
  for (const command of ["docker", "podman"]) {
    try {
      execFileSync(command, ["info"], { stdio: "ignore", timeout: 15_000 });
      return { command };
    } catch {
      // not installed, or no daemon behind it
    }
  }
  return { missing: "no container builder runs here (`docker info` and `podman info` both failed)" };
}

const found = builder();
describe.skipIf("missing" in found)(
  `the image, built (${"missing" in found ? `skipped: ${found.missing}` : `with ${found.command}`})`,
  () => {
    const command = "command" in found ? found.command : "docker";
    const tag = `threadbridge:test-${process.pid}`;

    afterAll(async () => {
      await run(command, ["rmi", "-f", tag]).catch(() => {});
    });

    it("builds, runs as the node user and answers --version", { timeout: 900_000 }, async () => {
      await run(command, ["build", "-t", tag, ROOT], { timeout: 900_000, maxBuffer: 64 * 2 ** 20 });
      const user = await run(command, ["image", "inspect", "-f", "{{.Config.User}}", tag]);
      expect(user.stdout.trim()).toBe("node");
      const version = await run(command, ["run", "--rm", tag, "--version"]);
      expect(version.stdout).toBe(`${VERSION}\n`);
      // The chart's canvas finds the fonts apt installed (it scans the system's font directories).
      const fonts = await run(command, ["run", "--rm", "--entrypoint", "node", tag, "-e", HAS_DEJAVU]);
      expect(fonts.stdout).toBe("true");
    });
  },
);
