import { describe, expect, it } from "vitest";
import { platforms } from "../../adapters/index.ts";
import { ConfigError, loadConfig } from "../../src/config/config.ts";

describe("configuration", () => {
  it("boots with nothing set: embedded database, every chat platform off", () => {
    const c = loadConfig({}, platforms);
    expect(c.port).toBe(3000);
    expect(c.publicUrl).toBe("http://localhost:3000");
    expect(c.database).toEqual({ kind: "embedded", dataDir: "./.data" });
    expect(c.instagram.apiVersion).toBe("v25.0");
    expect(c.instagram.graphUrl).toBe("https://graph.instagram.com");
    expect(c.platforms).toEqual([]);
    expect(c.availablePlatforms.map((p) => p.name)).toEqual(["slack", "discord", "web"]);
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ PORT: "", REDIS_URL: " " }, platforms).port).toBe(3000);
  });

  it.each([
    ["PORT", "eighty", /^PORT: /],
    ["DATABASE_URL", "mysql://x", /^DATABASE_URL: expected postgres:\/\//],
    ["REDIS_URL", "localhost:6379", /^REDIS_URL: expected redis:\/\//],
    ["IG_API_VERSION", "v19.0", /^IG_API_VERSION: expected v21\.0 or newer/],
    ["IG_API_VERSION", "25", /^IG_API_VERSION: expected a version such as v25\.0/],
    ["IG_HUMAN_AGENT", "maybe", /^IG_HUMAN_AGENT: expected true or false/],
    ["SLACK_BOT_TOKEN", "xoxp-123", /^SLACK_BOT_TOKEN: expected a bot token/],
    ["TOKEN_ENCRYPTION_KEY", "c2hvcnQ=", /^TOKEN_ENCRYPTION_KEY: expected a base64 32-byte key/],
    ["LOG_LEVEL", "loud", /^LOG_LEVEL: /],
    ["WEBHOOK_MAX_BODY", "lots", /^WEBHOOK_MAX_BODY: expected a size/],
    ["PUBLIC_URL", "bridge.example.com", /^PUBLIC_URL: expected an http\(s\) URL/],
  ])("stops on a malformed %s with one line naming it", (name, value, message) => {
    const env: Record<string, string> = { [name]: value };
    if (name === "DATABASE_URL") env.TOKEN_ENCRYPTION_KEY = Buffer.alloc(32).toString("base64");
    expect(() => loadConfig(env, platforms)).toThrow(ConfigError);
    try {
      loadConfig(env, platforms);
    } catch (err) {
      expect((err as Error).message.split("\n")).toHaveLength(1);
      expect((err as Error).message).toMatch(message);
    }
  });

  it("needs both Slack credentials, and a token key with Postgres", () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: "xoxb-1-2-3" }, platforms)).toThrow(
      /^SLACK_SIGNING_SECRET: required/,
    );
    expect(() => loadConfig({ DATABASE_URL: "postgres://u@h/db" }, platforms)).toThrow(
      /^TOKEN_ENCRYPTION_KEY: required/,
    );
  });

  it("accepts either webhook secret and a rotated key list", () => {
    const key = Buffer.alloc(32, 1).toString("base64");
    const c = loadConfig(
      {
        IG_APP_SECRET: "instagram-secret",
        META_APP_SECRET: "meta-app-secret",
        TOKEN_ENCRYPTION_KEY: `${key},${Buffer.alloc(32, 2).toString("base64")}`,
        IG_HUMAN_AGENT: "true",
      },
      platforms,
    );
    expect(c.instagram.appSecrets).toEqual(["instagram-secret", "meta-app-secret"]);
    expect(c.instagram.humanAgent).toBe(true);
  });

  it("refreshes tokens 30 days before they expire unless TOKEN_REFRESH_DAYS says otherwise", () => {
    expect(loadConfig({}, platforms).tokenRefreshDays).toBe(30);
    expect(loadConfig({ TOKEN_REFRESH_DAYS: "10" }, platforms).tokenRefreshDays).toBe(10);
    // A 60-day token cannot be refreshed 60 days ahead, and a fraction of a day is a typo.
    for (const bad of ["0", "60", "7.5", "soon"])
      expect(() => loadConfig({ TOKEN_REFRESH_DAYS: bad }, platforms)).toThrow(
        /^TOKEN_REFRESH_DAYS: expected a whole number of days, 1 to 59$/,
      );
  });
});
