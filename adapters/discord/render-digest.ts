// The managers' digest → one embed (pure): the account and period as title, the main figures as
// inline fields, one field per list, the chart as the embed's image (an attachment of the same
// message) and the period in the footer. Within Discord's embed limits; mentions render as names
// but ping nobody (allowed_mentions parses nothing).

import type { APIAttachment, APIEmbed, APIEmbedField } from "discord.js";
import type { Digest, DigestChart } from "../../src/chat/chat-port.ts";
import { type DigestMarkup, digestView, fitLines } from "../../src/digest/digest-view.ts";
import {
  EMBED_DESCRIPTION_MAX,
  EMBED_FIELD_VALUE_MAX,
  EMBED_TITLE_MAX,
  EMBED_TOTAL_MAX,
  escapeMarkdown,
  oneLine,
  THREAD_NAME_MAX,
  truncate,
  truncateMarkdown,
} from "./markdown.ts";
import { NO_MENTIONS, type RenderedMessage } from "./render.ts";
import { discordDate } from "./render-header.ts";

/** Discord's limits: 25 fields an embed, field names 256, footers 2048, attachment alt text 1024. */
const FIELDS_MAX = 25;
const FIELD_NAME_MAX = 256;
const FOOTER_MAX = 2048;
const ALT_MAX = 1024;

const SNOWFLAKE = /^\d{15,25}$/;

const COLORS = { calm: 0x59a14f, attention: 0xf28e2b, quiet: 0x95a5a6 };

const discordMarkup: DigestMarkup = {
  text: escapeMarkdown,
  bold: (m) => `**${m}**`,
  code: (plain) => `\`${plain.replace(/`/g, "'")}\``,
  person: (key) => {
    const id = key.startsWith("discord:") ? key.slice("discord:".length) : undefined;
    return id && SNOWFLAKE.test(id) ? `<@${id}>` : undefined;
  },
  // The thread's mention shows its name, which names the customer, and opens it.
  thread: (conversation) => {
    const thread = conversation.thread;
    return thread?.platform === "discord" && SNOWFLAKE.test(thread.ref.thread)
      ? `<#${thread.ref.thread}>`
      : undefined;
  },
  date: (at) => discordDate(at),
};

export interface RenderedDigest {
  message: RenderedMessage & { attachments?: Partial<APIAttachment>[] };
  /** The forum post's title, when the channel is a forum. */
  postName: string;
}

function size(embed: APIEmbed): number {
  const fields = embed.fields ?? [];
  return (
    (embed.title?.length ?? 0) +
    (embed.description?.length ?? 0) +
    (embed.footer?.text.length ?? 0) +
    fields.reduce((n, f) => n + f.name.length + f.value.length, 0)
  );
}

export function renderDigest(digest: Digest, chart?: DigestChart): RenderedDigest {
  const view = digestView(digest, discordMarkup);
  const embed: APIEmbed = {
    title: truncate(view.title, EMBED_TITLE_MAX),
    color: digest.empty
      ? COLORS.quiet
      : digest.sla.total > 0 || digest.tokenExpiresAt
        ? COLORS.attention
        : COLORS.calm,
    footer: { text: truncate(view.about, FOOTER_MAX) },
    timestamp: digest.generatedAt.toISOString(),
  };
  const description = [view.warning, view.nothing ? escapeMarkdown(view.nothing) : undefined]
    .filter((part) => part !== undefined)
    .join("\n\n");
  if (description) embed.description = truncateMarkdown(description, EMBED_DESCRIPTION_MAX);

  const fields: APIEmbedField[] = view.figures.map((f) => ({
    name: truncate(f.name, FIELD_NAME_MAX),
    value: truncateMarkdown(f.value, EMBED_FIELD_VALUE_MAX),
    inline: true,
  }));
  embed.fields = fields;
  // Lists share what the 6,000 characters leave, evenly, each at most a field's 1,024; a short
  // list leaves its unused share to the ones after it.
  const lists = view.sections.slice(0, FIELDS_MAX - fields.length);
  const names = lists.map((s) => truncate(s.title, FIELD_NAME_MAX));
  let left = EMBED_TOTAL_MAX - size(embed) - names.reduce((n, name) => n + name.length, 0);
  for (const [i, s] of lists.entries()) {
    const budget = Math.min(EMBED_FIELD_VALUE_MAX, Math.floor(left / (lists.length - i)));
    const value = fitLines(s.lines, budget, s.unlisted).join("\n");
    fields.push({ name: names[i] as string, value, inline: false });
    left -= value.length;
  }
  const message: RenderedDigest["message"] = {
    content: "",
    embeds: [embed],
    allowed_mentions: NO_MENTIONS,
  };
  if (chart) {
    embed.image = { url: `attachment://${chart.name}` };
    message.attachments = [{ id: "0", filename: chart.name, description: truncate(chart.alt, ALT_MAX) }];
  }
  return { message, postName: truncate(oneLine(view.title), THREAD_NAME_MAX) };
}
