// The console's Rules page (issue 20): the stored rules, switched on and off (CSRF-checked and
// audited), and the dry run of `threadbridge rules test` against a pasted webhook or a stored event.

import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseWebhook } from "../../../src/instagram/webhook.ts";
import { parseRuleFile } from "../../../src/rules/load.ts";
import { importRules } from "../../../src/rules/store.ts";
import { type ConsoleClient, type ConsoleHarness, startConsoleHarness } from "../../helpers/console.ts";

const RULES = `version: 1
rules:
  - id: still-available
    name: "Is it <still> available?"
    account: "17841400000000001"
    trigger:
      type: dm_text
      keywords: [available]
    actions:
      - type: dm_reply
        text: "Yes, it is!"
  - id: greeting
    name: Greeting
    account: "*"
    enabled: false
    trigger:
      type: dm_text
      keywords: [hello]
    actions:
      - type: tag
        tag: greeted
`;
// The recorded DM, sent just now (a message from last year would find its window closed).
const WEBHOOK = readFileSync(
  new URL("../../fixtures/webhooks/dm-text.json", import.meta.url),
  "utf8",
).replace(/"timestamp": \d+/, `"timestamp": ${Date.now()}`);

/** The fixture's event as the webhook stores it. */
function storedEvent() {
  const parsed = parseWebhook(JSON.parse(WEBHOOK));
  if (!parsed.ok || !parsed.records[0]) throw new Error("the fixture no longer parses");
  return parsed.records[0].event;
}

let h: ConsoleHarness;
let c: ConsoleClient;

beforeAll(async () => {
  h = await startConsoleHarness({ LOG_LEVEL: "silent" });
  const parsed = parseRuleFile(RULES, "console.yaml");
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  await importRules(h.service.db, parsed.file, "/rules/console.yaml");
  c = h.client();
  await c.signIn();
});
afterAll(async () => {
  await h?.close();
});

const audit = async () =>
  (
    await h.service.db.query<{ actor_id: string; action: string; target: string }>(
      "SELECT actor_id, action, target FROM audit_log WHERE action LIKE 'rule_%' ORDER BY id",
    )
  ).rows;

describe("the Rules page", () => {
  it("is for signed-in operators only", async () => {
    expect(await h.client().get("/rules")).toMatchObject({ status: 303, location: "/login" });
  });

  it("lists the rules in order with their state, escaped", async () => {
    const page = await c.get("/rules");
    expect(page.status).toBe(200);
    expect(page.body).toContain('<a href="/rules" aria-current="page">Rules</a>');
    expect(page.body).toContain(
      '<th scope="row">still-available<br><span class="muted">Is it &lt;still&gt; available?</span></th>',
    );
    expect(page.body).toMatch(/<tr id="rule-greeting">\n<td><span class="badge ">off<\/span><\/td>/);
    expect(page.body).toContain("<td>every account</td>");
    expect(page.body).toContain("<code>/rules/console.yaml</code>");
    expect(page.body.indexOf("rule-greeting")).toBeLessThan(page.body.indexOf("rule-still-available"));
  });

  it("switches a rule on and off through CSRF-checked forms, and audits each switch", async () => {
    const page = await c.get("/rules");
    expect((await c.post("/rules/greeting/enable", {})).status).toBe(403);
    const on = await c.submit(page, "/rules/greeting/enable");
    expect(on).toMatchObject({ status: 303, location: "/rules#rule-greeting" });
    const after = await c.get("/rules");
    expect(after.body).toContain('<p class="notice" role="status">greeting enabled.</p>');
    expect(after.body).toMatch(/<tr id="rule-greeting">\n<td><span class="badge ok">on<\/span><\/td>/);
    await c.submit(after, "/rules/greeting/disable");
    const missing = await c.submit(after, "/rules/no-such-rule/disable");
    expect(missing.status).toBe(404);
    expect(await audit()).toEqual([
      { actor_id: "console:admin", action: "rule_enabled", target: "rule:greeting" },
      { actor_id: "console:admin", action: "rule_disabled", target: "rule:greeting" },
    ]);
  });

  it("dry-runs the stored rules against a pasted webhook, sending and storing nothing", async () => {
    const page = await c.get("/rules");
    const result = await c.submit(page, "/rules/test", { webhook: WEBHOOK });
    expect(result.status).toBe(200);
    expect(result.body).toContain('<h3 id="dry-run-result">Result for the pasted webhook</h3>');
    expect(result.body).toContain("<p><strong>dm.message on account 17841400000000001</strong></p>");
    expect(result.body).toContain(
      "<li>still-available: would fire: dm_reply to 1234567890123456: &quot;Yes, it is!&quot;</li>",
    );
    const stored = await h.service.db.query("SELECT 1 FROM messages UNION ALL SELECT 1 FROM inbound_events");
    expect(stored.rows).toEqual([]);
    expect(h.graph.requests.filter((r) => r.path.includes("/messages"))).toEqual([]);
  });

  it("dry-runs a stored event by its id", async () => {
    const { rows } = await h.service.db.query<{ id: string }>(
      `INSERT INTO inbound_events (account_id, dedupe_key, kind, thread_key, event, raw, occurred_at, job_id, status)
       VALUES ('17841400000000001', 'console-dry-run', 'dm', 'dm:x', $1, '{}', now(), gen_random_uuid(), 'processed')
       RETURNING id`,
      [JSON.stringify(storedEvent())],
    );
    const page = await c.get("/rules");
    const result = await c.submit(page, "/rules/test", { event: rows[0]?.id as string });
    expect(result.body).toContain(`Result for event ${rows[0]?.id}`);
    expect(result.body).toContain("<li>still-available: would fire:");
  });

  it("says plainly what is wrong with what was pasted", async () => {
    const page = await c.get("/rules");
    const cases: Array<[Record<string, string>, string]> = [
      [{ webhook: "{not json" }, "That is not JSON:"],
      [{ webhook: '{"object":"page"}' }, "That is not an Instagram webhook:"],
      [{ event: "12abc" }, "“12abc” is not an event id."],
      [{ event: "999999" }, "No event 999999 is stored"],
      [{}, "Paste a webhook or name a stored event."],
      [{ webhook: WEBHOOK, event: "1" }, "not both"],
    ];
    for (const [fields, message] of cases) {
      const answer = await c.submit(page, "/rules/test", fields);
      expect(answer.status, message).toBe(400);
      expect(answer.body, message).toContain(message);
      expect(answer.body).toContain('<p class="error" role="alert" id="dry-run-error">');
    }
    const escaped = await c.submit(page, "/rules/test", { webhook: "<script>" });
    expect(escaped.body).toContain("&lt;script&gt;</textarea>");
  });
});
