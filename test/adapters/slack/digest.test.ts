// postDigest against the fake Slack: the Block Kit message in the digest channel with its overdue
// conversations linked by permalink, then the chart uploaded right below it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chartTitle } from "../../../adapters/slack/render-digest.ts";
import type { Digest, DigestChart, ThreadRef } from "../../../src/chat/chat-port.ts";
import { renderDigestChart } from "../../../src/digest/chart.ts";
import { busyDigest, crowdedDigest, emptyDigest } from "../../helpers/digest.ts";
import { type SlackHarness, startSlackHarness } from "../../helpers/slack.ts";

const MIRROR = "C0MIRROR";
let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => {
  await h?.close();
});

const header = {
  kind: "dm" as const,
  account: { id: "1", username: "brand" },
  customer: { id: "c41", name: "Bob", username: "late_bob" },
  window: { kind: "none" as const },
  status: "open" as const,
  consent: "unknown" as const,
  links: [],
};

/** The busy day, its first overdue conversation living in `thread`. */
function digestWithThread(thread: ThreadRef): Digest {
  const digest = busyDigest();
  const [first, ...rest] = digest.sla.overdue;
  if (!first) throw new Error("the helper lists overdue conversations");
  digest.sla.overdue = [{ ...first, thread: { platform: "slack", ref: thread } }, ...rest];
  return digest;
}

async function chartOf(digest: Digest): Promise<DigestChart> {
  const chart = await renderDigestChart(digest);
  if (!chart) throw new Error("no chart");
  return chart;
}

describe("posting the digest", () => {
  it("posts the blocks, links the overdue thread by permalink, then uploads the chart below", async () => {
    const thread = await h.bridge.adapter.openThread(MIRROR, header);
    const digest = digestWithThread(thread);
    const chart = await chartOf(digest);
    await h.bridge.adapter.postDigest("C0DIGEST", digest, chart);

    expect(h.slack.callsOf("chat.getPermalink").map((c) => c.args)).toEqual([
      { channel: MIRROR, message_ts: thread.thread },
    ]);
    const posted = h.slack.callsOf("chat.postMessage").filter((c) => c.args.channel === "C0DIGEST");
    expect(posted).toHaveLength(1);
    const message = posted[0];
    expect(message?.args).toMatchObject({
      channel: "C0DIGEST",
      text: "Digest for @brand, Tue 24 Nov 2026: 23 new conversations, 4 waiting, 3 past the SLA",
      unfurl_links: "false",
    });
    const blocks = JSON.stringify(message?.args.blocks);
    const permalink = `https://fake.slack.com/archives/${MIRROR}/p${thread.thread.replace(".", "")}`;
    expect(blocks).toContain(`<${permalink}|@late_bob> waiting 6 h · assigned to <@U0AGENT1>`);

    const upload = h.slack.uploads.find((u) => u.channel === "C0DIGEST");
    expect(upload).toMatchObject({
      name: chart.name,
      title: chartTitle(digest),
      mimetype: "image/png",
      altText: chart.alt,
    });
    expect(upload?.title).toBe("📈 @brand · Tue 24 Nov 2026: messages per hour and median first response");
    expect(upload?.threadTs).toBeUndefined();
    expect(upload?.bytes.equals(chart.png)).toBe(true);
    expect(upload?.bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
    // Right below the digest in the channel: the chart's message comes after it, not in a thread.
    const shared = h.slack.message("C0DIGEST", upload?.ts ?? "");
    expect(shared).toMatchObject({ files: [{ name: chart.name }] });
    expect(shared?.thread_ts).toBeUndefined();
    const inChannel = [...h.slack.calls]
      .filter((c) => c.method === "chat.postMessage" || c.method === "files.completeUploadExternal")
      .filter((c) => c.args.channel === "C0DIGEST" || c.args.channel_id === "C0DIGEST")
      .map((c) => c.method);
    expect(inChannel).toEqual(["chat.postMessage", "files.completeUploadExternal"]);
  });

  it("names an overdue conversation without a link when its thread is gone", async () => {
    const thread = await h.bridge.adapter.openThread(MIRROR, header);
    await h.bridge.adapter.removeThread(thread);
    await h.bridge.adapter.postDigest("C0GONE", digestWithThread(thread));
    const message = h.slack.callsOf("chat.postMessage").find((c) => c.args.channel === "C0GONE");
    expect(JSON.stringify(message?.args.blocks)).toContain("• @late_bob waiting 6 h");
    expect(
      h.logs.some((l) => l.msg === "slack digest: no permalink for an overdue conversation's thread"),
    ).toBe(true);
  });

  it("posts an empty digest as one friendly message, with nothing to upload", async () => {
    const digest = emptyDigest();
    await h.bridge.adapter.postDigest("C0QUIET", digest, await renderDigestChart(digest));
    const posted = h.slack.callsOf("chat.postMessage").filter((c) => c.args.channel === "C0QUIET");
    expect(posted.map((c) => c.args.text)).toEqual([
      "🌙 Nothing happened on @brand yesterday, and nobody is waiting for an answer.",
    ]);
    expect(h.slack.uploads.filter((u) => u.channel === "C0QUIET")).toEqual([]);
  });

  it("is accepted by Slack's block validation with lists far longer than it shows", async () => {
    await expect(h.bridge.adapter.postDigest("C0CROWD", crowdedDigest("slack"))).resolves.toBeUndefined();
    const posted = h.slack.callsOf("chat.postMessage").find((c) => c.args.channel === "C0CROWD");
    expect(JSON.stringify(posted?.args.blocks)).toContain("… and 70 more");
  });

  it("keeps the posted figures when the chart cannot be uploaded, and says why in the log", async () => {
    const digest = busyDigest();
    const chart = await chartOf(digest);
    const server = await startSlackHarness();
    try {
      server.slack.revokeScopes(["files:write"]);
      await expect(server.bridge.adapter.postDigest("C0DIGEST", digest, chart)).resolves.toBeUndefined();
      expect(server.slack.callsOf("chat.postMessage").map((c) => c.args.channel)).toEqual(["C0DIGEST"]);
      expect(server.slack.uploads).toEqual([]);
      const warning = server.logs.find((l) => l.msg === "slack digest chart not uploaded");
      expect(warning).toMatchObject({
        channel: "C0DIGEST",
        file: chart.name,
        err: { code: "missing_scope" },
      });
    } finally {
      await server.close();
    }
  });
});
