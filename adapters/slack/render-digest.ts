// The managers' digest → Block Kit (pure): a header with the account and period, the main figures
// as two columns of fields, then one section per list, each within Slack's limits. Agents show as
// mentions, overdue conversations link to their threads (permalinks the adapter looked up).

import type { types } from "@slack/bolt";
import type { Digest } from "../../src/chat/chat-port.ts";
import { accountHandle, type DigestMarkup, digestView, fitLines } from "../../src/digest/digest-view.ts";
import { context, type KnownBlock, mrkdwn, plain, SECTION_MAX, section, slackDate } from "./blocks.ts";
import { escapeText, safeUrl, truncate } from "./mrkdwn.ts";
import type { RenderedMessage } from "./render.ts";

/** Slack's limits: header text 150, fields 10 a section of at most 2000 characters each, 50 blocks. */
const HEADER_MAX = 150;
const FIELDS_MAX = 10;
const FIELD_MAX = 2000;
const BLOCKS_MAX = 50;

const USER_ID = /^[UW][A-Z0-9]+$/;

/** `permalinks`: conversation id → the Slack permalink of its thread. */
function slackMarkup(permalinks: ReadonlyMap<number, string>): DigestMarkup {
  return {
    text: escapeText,
    bold: (m) => `*${m}*`,
    code: (plain) => `\`${escapeText(plain)}\``,
    person: (key) => {
      const id = key.startsWith("slack:") ? key.slice("slack:".length) : undefined;
      return id && USER_ID.test(id) ? `<@${id}>` : undefined;
    },
    thread: (conversation, label) => {
      const url = permalinks.get(conversation.conversationId);
      const safe = url === undefined ? undefined : safeUrl(url);
      return safe ? `<${safe}|${label}>` : undefined;
    },
    date: slackDate,
  };
}

export function renderDigest(
  digest: Digest,
  permalinks: ReadonlyMap<number, string> = new Map(),
): RenderedMessage {
  const view = digestView(digest, slackMarkup(permalinks));
  const blocks: KnownBlock[] = [
    { type: "header", text: plain(truncate(view.title, HEADER_MAX)) },
    context(mrkdwn(escapeText(view.about))),
  ];
  if (view.warning) blocks.push(section(view.warning));
  if (view.nothing) blocks.push(section(escapeText(view.nothing)));
  if (view.figures.length > 0) {
    const fields: types.MrkdwnElement[] = view.figures
      .slice(0, FIELDS_MAX)
      .map((f) => mrkdwn(truncate(`*${escapeText(f.name)}*\n${f.value}`, FIELD_MAX)));
    blocks.push({ type: "section", fields });
  }
  if (view.sections.length > 0) blocks.push({ type: "divider" });
  for (const s of view.sections) {
    const title = `*${escapeText(s.title)}*`;
    const lines = fitLines(s.lines, SECTION_MAX - title.length - 1, s.unlisted);
    blocks.push(section([title, ...lines].join("\n")));
  }
  return { text: escapeText(view.summary), blocks: blocks.slice(0, BLOCKS_MAX) };
}

/** The file title above the chart, naming what it shows (several accounts may share a channel). */
export function chartTitle(digest: Digest): string {
  const handle = accountHandle(digest);
  const per = digest.period.bucket === "hour" ? "per hour" : "per day";
  return `📈 ${handle} · ${digest.period.label}: messages ${per} and median first response`;
}
