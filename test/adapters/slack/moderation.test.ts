// `/ig` comment moderation as Slack types it (the rest runs on every platform:
// test/contract/moderation.test.ts): one line of text, a link as Slack writes it (`<…>`), the
// reply's whitespace taken as words, and usage errors and help escaped for mrkdwn.

import { afterAll, beforeAll, expect, it } from "vitest";
import {
  ACCOUNT,
  AGENT,
  type BridgeHarness,
  CHANNEL,
  SECRET,
  startBridgeHarness,
} from "../../helpers/bridge.ts";
import { changesSince, postLink } from "../../helpers/moderation.ts";
import { waitFor } from "../../helpers/service.ts";
import { postSlackCommand } from "../../helpers/slack.ts";
import { commentWebhook, postWebhook } from "../../helpers/webhook.ts";

let h: BridgeHarness;
let asked = 0;

beforeAll(async () => {
  h = await startBridgeHarness({ IG_RATE_LIMITS: "platform=1000/1" });
});

afterAll(async () => {
  await h?.close();
});

/** `/ig <text>` in the channel: the answer only the asker sees (a parse error is the ack itself). */
async function ig(text: string): Promise<string> {
  const id = `answer-${++asked}`;
  const res = await postSlackCommand(h.url(), SECRET, {
    command: "/ig",
    text,
    user_id: AGENT.id,
    user_name: AGENT.name,
    channel_id: CHANNEL,
    response_url: h.slack.responseUrl(id),
  });
  expect(res.status).toBe(200);
  const acked = res.body ? (JSON.parse(res.body) as { text?: string }).text : undefined;
  if (acked) return acked;
  return waitFor(
    async () => h.slack.responses.find((r) => r.id === id)?.body.text as string | undefined,
    10_000,
    `the answer to /ig ${text}`,
  );
}

async function comment(id: string, media: string): Promise<void> {
  const res = await postWebhook(
    h.url(),
    commentWebhook(ACCOUNT, {
      id,
      text: `comment ${id}`,
      from: { id: "1234567890123401", username: "jane" },
      mediaId: media,
    }),
  );
  expect(res.status).toBe(200);
}

it("takes a link in Slack's <…> form, and the reply's words with their spacing evened out", async () => {
  const media = "17900000000000201";
  const root = "17850000000000201";
  await comment(root, media);
  await h.commentRootOf(root);
  const before = h.graph.requests.length;
  expect(await ig(`reply <${postLink(media)}c/${root}/> Thanks,   we love it!`)).toMatch(/replied publicly/);
  expect(changesSince(h.graph, before)).toEqual([
    { method: "POST", path: `/v25.0/${root}/replies`, query: {}, body: { message: "Thanks, we love it!" } },
  ]);
});

it("answers usage errors with the usage line, escaped for mrkdwn, without calling Instagram", async () => {
  const media = "17900000000000210";
  const root = "17850000000000210";
  await comment(root, media);
  await h.commentRootOf(root);
  const before = h.graph.requests.length;
  const cases: Array<[string, RegExp]> = [
    ["hide", /`hide` needs a target: a comment link or id\nusage: `\/ig hide &lt;comment link\|id&gt;`/],
    [`hide ${root} ${root}`, /`hide` takes one comment; got `\d+ \d+`/],
  ];
  for (const [text, answer] of cases) expect(await ig(text), text).toMatch(answer);
  expect(changesSince(h.graph, before)).toEqual([]);
});

it("keeps /ig help current", async () => {
  const help = await ig("help");
  for (const line of [
    "/ig hide &lt;comment link|id&gt;",
    "/ig unhide &lt;comment link|id&gt;",
    "/ig delete &lt;comment link|id&gt;",
    "/ig reply &lt;comment link|id&gt; text…",
    "/ig comments-off &lt;post link|media id&gt;",
    "/ig comments-on &lt;post link|media id&gt;",
  ])
    expect(help).toContain(line);
});
