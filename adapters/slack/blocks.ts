// Small Block Kit builders shared by the renderers. Customer text is always escaped by the caller
// and sent `verbatim`, so Slack adds no mention or channel parsing of its own.

import type { types } from "@slack/bolt";

export type KnownBlock = types.KnownBlock;
export type ContextElement = types.ContextBlockElement;

/** Slack's limits (section text 3000, context 10 elements, alt text 2000). */
export const SECTION_MAX = 3000;
export const CONTEXT_MAX_ELEMENTS = 10;

export function mrkdwn(text: string): types.MrkdwnElement {
  return { type: "mrkdwn", text, verbatim: true };
}

export function plain(text: string): types.PlainTextElement {
  return { type: "plain_text", text, emoji: true };
}

export function section(text: string, accessory?: types.ImageElement): types.SectionBlock {
  return accessory
    ? { type: "section", text: mrkdwn(text), accessory }
    : { type: "section", text: mrkdwn(text) };
}

export function context(...elements: ContextElement[]): types.ContextBlock {
  return { type: "context", elements: elements.slice(0, CONTEXT_MAX_ELEMENTS) };
}

export function image(url: string, alt: string): types.ImageElement {
  return { type: "image", image_url: url, alt_text: alt.slice(0, 2000) || "image" };
}

/** Slack shows this in each reader's own time zone; the fallback is for clients that cannot. */
export function slackDate(at: Date): string {
  const unix = Math.floor(at.getTime() / 1000);
  const fallback = `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return `<!date^${unix}^{date_short_pretty} {time}|${fallback}>`;
}
