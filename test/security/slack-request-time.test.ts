// Issue 16: "Slack requests dated in the future are accepted: refuse more than 5 minutes either
// way." Every request here is correctly signed with the signing secret; only its date differs.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slackSign } from "../helpers/slack.ts";
import { type InputsHarness, SLACK_SECRET, startInputsHarness } from "./inputs-harness.ts";

let h: InputsHarness;

beforeAll(async () => {
  h = await startInputsHarness();
});

afterAll(async () => {
  await h?.close();
});

const REFUSED = "slack request refused: X-Slack-Request-Timestamp is not within 5 minutes of now";
const now = () => Math.floor(Date.now() / 1000);

/** Slack's URL verification: answered with the challenge by Bolt, so a 200 proves acceptance. */
async function verify(ts: number | undefined, tsHeader?: string) {
  const raw = JSON.stringify({ token: "t", challenge: `c${ts}`, type: "url_verification" });
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...slackSign(SLACK_SECRET, raw, ts),
  };
  if (tsHeader !== undefined) headers["x-slack-request-timestamp"] = tsHeader;
  const res = await fetch(`${h.url}/slack/events`, { method: "POST", headers, body: raw });
  return { status: res.status, body: await res.text() };
}

describe("X-Slack-Request-Timestamp window", () => {
  it("refuses a correctly signed request dated more than 5 minutes ahead with 401 and one warning", async () => {
    const before = h.logged(REFUSED).length;
    const res = await verify(now() + 6 * 60);
    expect(res.status).toBe(401);
    expect(res.body).toBe("");
    const lines = h.logged(REFUSED).slice(before);
    expect(lines).toEqual([expect.objectContaining({ level: 40, reason: "timestamp in the future" })]);
    // Far ahead (the attack: a request signed now that replays for years) is refused the same way.
    expect((await verify(now() + 365 * 24 * 3600)).status).toBe(401);
  });

  it("refuses a correctly signed request dated more than 5 minutes ago with 401 and one warning", async () => {
    const before = h.logs.length;
    const res = await verify(now() - 6 * 60);
    expect(res.status).toBe(401);
    const warnings = h.logs.slice(before).filter((l) => l.component === "slack" && l.level === 40);
    expect(warnings).toEqual([expect.objectContaining({ msg: REFUSED, reason: "timestamp too old" })]);
  });

  it("refuses a timestamp that is not whole seconds, even when the signature covers it", async () => {
    // Bolt reads the header with Number() and signs its String(): "1700000000.0" would count.
    const ts = now();
    const res = await verify(ts, `${ts}.0`);
    expect(res.status).toBe(401);
    expect(h.logged(REFUSED).at(-1)).toMatchObject({ reason: "malformed timestamp" });
  });

  it("accepts a correctly signed request within the window, either way (clock skew)", async () => {
    for (const ts of [now(), now() + 4 * 60, now() - 4 * 60]) {
      const res = await verify(ts);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ challenge: `c${ts}` });
    }
  });

  it("still refuses a request within the window whose signature is wrong", async () => {
    const raw = JSON.stringify({ token: "t", challenge: "x", type: "url_verification" });
    const res = await fetch(`${h.url}/slack/events`, {
      method: "POST",
      headers: { "content-type": "application/json", ...slackSign("not-the-secret", raw) },
      body: raw,
    });
    expect(res.status).toBe(401);
  });
});
