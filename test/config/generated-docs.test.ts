// docs/configuration.md's tables and .env.example are generated from the variables' declarations
// (`npm run config-docs`): the committed files must be what it writes, every variable the code
// reads must be documented, and what the documentation claims (defaults, examples, secrets) must
// be what the configuration does.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseEnv } from "node:util";
import { describe, expect, it } from "vitest";
import { platforms } from "../../adapters/index.ts";
import {
  BEGIN,
  configDocs,
  configurationText,
  END,
  envExampleText,
  markdownTables,
} from "../../scripts/config-docs.ts";
import { loadConfig, variables } from "../../src/config/config.ts";
import { platforms as withRooms } from "../helpers/cli-platforms.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const all = variables(platforms);
const KEY = Buffer.alloc(32, 3).toString("base64");

describe("generated configuration documentation", () => {
  it.each(configDocs().map((f) => [path.relative(ROOT, fileURLToPath(f.path)), f] as const))(
    "%s is current",
    (_name, f) => {
      expect(f.committed === f.generated, "stale: run npm run config-docs").toBe(true);
    },
  );

  it("replaces only what lies between the markers, and says when they are missing", () => {
    const doc = `# Title\n\nprose before\n\n${BEGIN}\nold table\n${END}\n\nprose after\n`;
    const fresh = configurationText(doc, platforms);
    expect(fresh.startsWith(`# Title\n\nprose before\n\n${BEGIN}\n\n### Service\n`)).toBe(true);
    expect(fresh.endsWith(`${END}\n\nprose after\n`)).toBe(true);
    expect(fresh).not.toContain("old table");
    expect(configurationText(fresh, platforms)).toBe(fresh);
    expect(() => configurationText("# no markers\n", platforms)).toThrow(/needs the markers/);
  });

  it("declares every variable with its documentation, a section for the core's, and a value to show", () => {
    for (const v of all) {
      expect(v.doc, `${v.name}: declare it with variable(schema, { doc, … })`).toBeDefined();
      expect(v.doc?.doc, v.name).toMatch(/\S/);
      if (!v.platform) expect(v.doc?.section, `${v.name} has no section`).toBeDefined();
      expect(v.doc?.example ?? v.doc?.default, `${v.name}: neither example nor default`).toBeDefined();
      expect(v.doc?.default !== undefined && v.doc?.unset !== undefined, `${v.name}: default and unset`).toBe(
        false,
      );
    }
  });

  it("documents every variable the code reads from the environment", () => {
    const documented = new Set(all.map((v) => v.name));
    const markdown = markdownTables(platforms);
    for (const name of documented) expect(markdown).toContain(`\`${name}\``);
    // Read besides the configuration, and described in docs/configuration.md's prose.
    const prose = readFileSync(path.join(ROOT, "docs/configuration.md"), "utf8");
    const outside = ["NODE_ENV", "USER"];
    for (const name of outside) expect(prose).toContain(`\`${name}`);
    const read = new Map<string, string>();
    const scan = (dir: string) => {
      for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) scan(file);
        else if (/\.[jt]s$/.test(entry.name))
          for (const m of readFileSync(path.join(ROOT, file), "utf8").matchAll(
            /process\.env(?:\.([A-Za-z_]\w*)|\[\s*["'`]([A-Za-z_]\w*)["'`]\s*\])/g,
          ))
            read.set((m[1] ?? m[2]) as string, file);
      }
    };
    for (const dir of ["src", "adapters", "bin"]) scan(dir);
    expect(read.size).toBeGreaterThan(0);
    for (const [name, file] of read)
      expect(
        documented.has(name) || outside.includes(name),
        `${file} reads ${name}, documented nowhere`,
      ).toBe(true);
  });

  it("lists a platform's variables under its label, from whichever descriptors it is given", () => {
    const markdown = markdownTables(withRooms);
    expect(markdown).toMatch(/### Slack\n\nSlack is on when `SLACK_BOT_TOKEN` and `SLACK_SIGNING_SECRET`/);
    expect(markdown).toMatch(/\| `DISCORD_TOKEN` \(or `DISCORD_TOKEN_FILE`\) \| none \|/);
    // The test platform declares no variables, but its ADMIN_USERS prefix is documented.
    expect(markdown).not.toContain("### RoomChat");
    expect(markdown).toMatch(/`roomchat:ID` \(a RoomChat user\)/);
  });

  it("shows defaults that mean the same as leaving the variable unset", () => {
    const credentials = {
      SLACK_BOT_TOKEN: "xoxb-1-2-3",
      SLACK_SIGNING_SECRET: "signing-secret",
      DISCORD_TOKEN: "discord-token-0123",
      DISCORD_APP_ID: "123456789012345678",
      IG_APP_ID: "1234",
      IG_APP_SECRET: "instagram-secret",
    };
    const bases = [
      credentials,
      { ...credentials, DATABASE_URL: "postgres://u@h/db", TOKEN_ENCRYPTION_KEY: KEY },
    ];
    const withDefaults = all.filter((v) => v.doc?.default !== undefined);
    expect(withDefaults.length).toBeGreaterThan(30);
    for (const base of bases) {
      const unset = loadConfig(base, platforms);
      for (const v of withDefaults)
        expect(
          loadConfig({ ...base, [v.name]: v.doc?.default }, platforms),
          `${v.name}=${v.doc?.default}`,
        ).toEqual(unset);
    }
  });

  it("shows examples the configuration accepts, and placeholders for secrets", () => {
    for (const v of all) {
      const example = v.doc?.example;
      if (example === undefined || v.doc?.secret) continue;
      const parsed = v.schema.safeParse(example);
      expect(parsed.success, `${v.name}=${example}: ${parsed.error?.message}`).toBe(true);
    }
    const text = envExampleText(platforms);
    // Nothing a secret scanner would take for a real credential.
    for (const real of [/xox[abpr]-[A-Za-z0-9]{10,}/, /\bEAA[A-Za-z0-9]{10,}/, /\bIGQ[A-Za-z0-9]{10,}/])
      expect(text).not.toMatch(real);
  });

  it("writes .env.example as a .env: every variable once, commented out with its example or default", () => {
    const text = envExampleText(platforms);
    expect(parseEnv(text)).toEqual({});
    const uncommented = text.replace(/^#([A-Z][A-Z0-9_]*=)/gm, "$1");
    expect(parseEnv(uncommented)).toEqual(
      Object.fromEntries(all.map((v) => [v.name, v.doc?.example ?? v.doc?.default])),
    );
    for (const line of text.split("\n")) expect(line.length, line).toBeLessThanOrEqual(130);
  });

  it("marks the credentials as secrets, each readable from NAME_FILE", () => {
    const secrets = all.filter((v) => v.doc?.secret).map((v) => v.name);
    expect(secrets.sort()).toEqual(
      [
        "CONSOLE_PASSWORD_HASH",
        "CONSOLE_SESSION_SECRET",
        "DATABASE_URL",
        "DISCORD_TOKEN",
        "IG_APP_SECRET",
        "IG_VERIFY_TOKEN",
        "META_APP_SECRET",
        "METRICS_TOKEN",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "REDIS_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "TOKEN_ENCRYPTION_KEY",
      ].sort(),
    );
    const markdown = markdownTables(platforms);
    for (const name of secrets) expect(markdown).toContain(`| \`${name}\` (or \`${name}_FILE\`) |`);
  });
});
