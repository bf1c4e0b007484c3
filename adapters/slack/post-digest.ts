// Posting the digest on Slack: the Block Kit message, then its chart as an image right below it in
// the channel, where managers see it without opening a thread. Overdue conversations link to their
// threads through permalinks (chat.getPermalink needs no scope); the chart needs files:write.

import type { Digest, DigestChart } from "../../src/chat/chat-port.ts";
import type { SlackAdapterDeps } from "./adapter.ts";
import { chartTitle, renderDigest } from "./render-digest.ts";
import { errorFields } from "./slack-errors.ts";

export type DigestDeps = Pick<SlackAdapterDeps, "client" | "log" | "pace">;

/** Slack's limit on an upload's description. */
const ALT_MAX = 1000;

export async function postDigest(
  deps: DigestDeps,
  channel: string,
  digest: Digest,
  chart: DigestChart | undefined,
): Promise<void> {
  const { client, log } = deps;
  const permalinks = await threadPermalinks(deps, digest);
  await deps.pace(channel);
  const posted = await client.chat.postMessage({
    channel,
    ...renderDigest(digest, permalinks),
    unfurl_links: false,
    unfurl_media: false,
  });
  if (!chart) return;
  await deps.pace(channel);
  try {
    await client.files.uploadV2({
      channel_id: posted.channel ?? channel,
      file: chart.png,
      filename: chart.name,
      title: chartTitle(digest),
      alt_text: chart.alt.slice(0, ALT_MAX),
    });
  } catch (err) {
    // The figures are out; failing the job would post them a second time for the picture's sake.
    log.warn({ channel, file: chart.name, err: errorFields(err) }, "slack digest chart not uploaded");
  }
}

/** Conversation id → permalink of its Slack thread, for the overdue conversations listed. A thread
 * that cannot be found is named without a link. */
async function threadPermalinks(deps: DigestDeps, digest: Digest): Promise<Map<number, string>> {
  const links = new Map<number, string>();
  await Promise.all(
    digest.sla.overdue.map(async (o) => {
      if (o.thread?.platform !== "slack") return;
      try {
        const res = await deps.client.chat.getPermalink({
          channel: o.thread.ref.channel,
          message_ts: o.thread.ref.thread,
        });
        if (res.permalink) links.set(o.conversationId, res.permalink);
      } catch (err) {
        deps.log.warn(
          { conversation: o.conversationId, err: errorFields(err) },
          "slack digest: no permalink for an overdue conversation's thread",
        );
      }
    }),
  );
  return links;
}
