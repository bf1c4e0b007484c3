// Who may do privileged things: ADMIN_USERS people, Discord roles and Slack user groups, with
// every refusal audited; a Slack group whose membership cannot be read grants nothing.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platforms } from "../../adapters/index.ts";
import { Admins } from "../../src/chat/admins.ts";
import { parseRefs } from "../../src/chat/ids.ts";
import { createLogger } from "../../src/log/logger.ts";
import { ACCOUNT, AGENT, type BridgeHarness, startBridgeHarness } from "../helpers/bridge.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

describe("Admins", () => {
  const queries: unknown[][] = [];
  const sql = {
    query: async <R extends object>(_text: string, params?: unknown[]) => {
      queries.push(params ?? []);
      return { rows: [] as R[] };
    },
  };
  const refs = parseRefs("slack:U1,slack-group:S9,discord:42,discord-role:7", platforms, ["user", "group"]);
  if (!refs.ok) throw new Error(refs.expected);
  const admins = new Admins(refs.refs, sql, createLogger("silent"));

  it("allows listed people, Slack groups and Discord roles, each on its own platform", () => {
    expect(admins.allows({ platform: "slack", id: "U1", name: "a" })).toBe(true);
    expect(admins.allows({ platform: "slack", id: "U2", name: "b", roles: ["S9"] })).toBe(true);
    expect(admins.allows({ platform: "discord", id: "42", name: "c" })).toBe(true);
    expect(admins.allows({ platform: "discord", id: "43", name: "d", roles: ["7"] })).toBe(true);
    expect(admins.allows({ platform: "slack", id: "U2", name: "b", roles: ["7"] })).toBe(false);
    expect(admins.allows({ platform: "discord", id: "43", name: "d", roles: ["S9"] })).toBe(false);
    expect(admins.allows({ platform: "discord", id: "U1", name: "e" })).toBe(false);
    // Another platform is neither: a role id it shares with a Discord role grants nothing.
    expect(admins.allows({ platform: "roomchat", id: "42", name: "f", roles: ["7", "S9"] })).toBe(false);
  });

  it("allows whom the platform vouches for as an admin, and reads dotted web user names", () => {
    expect(admins.allows({ platform: "web", id: "ana", name: "Ana Bell", admin: true })).toBe(true);
    expect(admins.allows({ platform: "web", id: "bo", name: "Bo Chen" })).toBe(false);
    const web = parseRefs("web:ana.b", platforms, ["user", "group"]);
    if (!web.ok) throw new Error(web.expected);
    const byName = new Admins(web.refs, sql, createLogger("silent"));
    expect(byName.allows({ platform: "web", id: "ana.b", name: "Ana" })).toBe(true);
    expect(byName.allows({ platform: "web", id: "anaxb", name: "Ana" })).toBe(false);
  });

  it("words and audits a refusal", async () => {
    const result = await admins.refuse({ platform: "slack", id: "U2", name: "b" }, "forget", "erase data", {
      account: "A1",
      target: "customer:5",
    });
    expect(result).toEqual({
      ok: false,
      text: "Only admins may erase data. An operator can add you to ADMIN_USERS as slack:U2.",
    });
    expect(queries.at(-1)).toEqual([
      "agent",
      "slack:U2",
      "A1",
      "refused",
      "customer:5",
      '{"action":"forget"}',
    ]);
  });
});

let h: BridgeHarness;
const MODERATOR = { id: "U0MOD1", name: "mo" };

beforeAll(async () => {
  h = await startBridgeHarness({ ADMIN_USERS: "slack-group:S0MODS,slack-group:S0GONE" });
  h.slack.addUser(MODERATOR);
  h.slack.setUserGroup("S0MODS", [MODERATOR.id]);
});

afterAll(async () => {
  await h?.close();
});

describe("Slack user groups in ADMIN_USERS", () => {
  it("lets members of a listed group use admin commands and refuses everyone else", async () => {
    const customer = "1000000000000901";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_adm_1", "hi", Date.now()));
    await h.rootOf(customer);

    expect(await h.command(`consent ${customer} revoked`, MODERATOR, "g1")).toMatch(/Consent revoked/);
    expect(await h.command(`consent ${customer} granted`, AGENT, "g2")).toMatch(
      /Only admins may record consent/,
    );
    const { rows } = await h.service.db.query<{ actor_id: string }>(
      "SELECT actor_id FROM audit_log WHERE action = 'refused'",
    );
    expect(rows).toEqual([{ actor_id: `slack:${AGENT.id}` }]);
    // S0GONE does not exist: reading it fails, and the failure is no grant.
    expect(h.slack.callsOf("usergroups.users.list").length).toBeGreaterThan(0);
  });
});
