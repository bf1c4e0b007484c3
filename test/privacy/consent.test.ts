// Consent: STOP / START from customers, `/ig consent` from admins, the banner, the warning before
// an agent writes to someone who opted out, and the audit log.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consentRequest, consentWords, DEFAULT_CONSENT_WORDS } from "../../src/privacy/consent.ts";
import { ACCOUNT, ADMIN, AGENT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

describe("consent words", () => {
  it("takes whole messages only, in several languages, whatever the case and punctuation", () => {
    for (const t of ["STOP", "Stop!", " stopp ", "Arrêt", "¡basta!", "unsubscribe."])
      expect(consentRequest(t, DEFAULT_CONSENT_WORDS), t).toBe("revoked");
    for (const t of ["START", "start again?".replace(" again", ""), "Subscribe"])
      expect(consentRequest(t, DEFAULT_CONSENT_WORDS), t).toBe("granted");
    for (const t of ["stop by the shop", "don't stop", "", undefined])
      expect(consentRequest(t, DEFAULT_CONSENT_WORDS)).toBeUndefined();
    expect(consentRequest("halt", consentWords(["halt"], undefined))).toBe("revoked");
  });
});

let h: BridgeHarness;
const now = () => Date.now();
const consentOf = async (customer: string) =>
  (
    await h.service.db.query<{ consent: string }>(
      "SELECT consent FROM conversations WHERE customer_id = $1",
      [customer],
    )
  ).rows[0]?.consent;

beforeAll(async () => {
  h = await startBridgeHarness();
});

afterAll(async () => {
  await h?.close();
});

describe("consent in the service", () => {
  it("revokes on STOP (banner, audit), asks agents to confirm, and grants again on START", async () => {
    const customer = "1000000000000201";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_c_1", "hi", now()));
    const root = await h.rootOf(customer);
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_c_2", "STOP", now() + 10));
    await waitFor(async () => ((await consentOf(customer)) === "revoked" ? true : undefined));
    await waitFor(async () =>
      JSON.stringify(h.slack.message(CHANNEL, root)?.blocks).includes("Consent revoked") ? true : undefined,
    );
    const { rows: audit } = await h.service.db.query<{ actor_kind: string; details: { consent: string } }>(
      "SELECT actor_kind, details FROM audit_log WHERE action = 'consent_changed' AND target = $1",
      [`customer:${customer}`],
    );
    expect(audit).toEqual([
      { actor_kind: "customer", details: expect.objectContaining({ consent: "revoked" }) },
    ]);

    const before = h.sends().length;
    const plain = await h.agentSays(root, "Are you sure?");
    await waitFor(async () =>
      h.slack.thread(CHANNEL, root).some((m) => m.text?.includes("opted out of messages")) ? true : undefined,
    );
    expect(await h.stateOf(plain.ts)).toBeUndefined();
    const confirmed = await h.agentSays(root, ">> Sorry to see you go, you won't hear from us again.");
    await h.settled(confirmed.ts, "sent");
    expect(h.sends().slice(before)).toHaveLength(1);

    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_c_3", "start", now() + 20));
    await waitFor(async () => ((await consentOf(customer)) === "granted" ? true : undefined));
  });

  it("records consent with /ig consent for admins only, every refusal audited", async () => {
    const customer = "1000000000000202";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_c_4", "hello", now()));
    await h.rootOf(customer);
    const ask = h.command;
    expect(await ask("consent @customer_0202 revoked", AGENT, "c1")).toMatch(/Only admins/);
    expect(await consentOf(customer)).toBe("unknown");
    const { rows: refused } = await h.service.db.query(
      "SELECT 1 FROM audit_log WHERE action = 'refused' AND actor_id = $1",
      [`slack:${AGENT.id}`],
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(await ask("consent @customer_0202 revoked", ADMIN, "c2")).toMatch(/Consent revoked/);
    expect(await consentOf(customer)).toBe("revoked");
    expect(await ask("consent @nobody_here granted", ADMIN, "c3")).toMatch(
      /No conversation with @nobody_here/,
    );
  });
});
