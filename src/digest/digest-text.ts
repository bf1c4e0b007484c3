import { DateTime } from "luxon";
import type { Digest } from "./digest.ts";
import { type DigestMarkup, digestView } from "./digest-view.ts";

// The digest as plain text, for `threadbridge digest`: the very view the chat platforms show, laid
// out as lines, so the terminal and the channel never disagree.

function plainMarkup(timezone: string): DigestMarkup {
  return {
    text: (plain) => plain,
    bold: (markup) => markup,
    code: (plain) => plain,
    person: () => undefined,
    thread: () => undefined,
    date: (at) => DateTime.fromJSDate(at, { zone: timezone }).toFormat("ccc d LLL yyyy HH:mm ZZZZ"),
  };
}

export function digestText(digest: Digest): string {
  const view = digestView(digest, plainMarkup(digest.period.timezone));
  const lines = [view.title, view.about];
  if (view.warning) lines.push("", view.warning);
  if (view.nothing) lines.push("", view.nothing);
  if (view.figures.length > 0) {
    lines.push("");
    for (const f of view.figures) lines.push(`${f.name}: ${f.value}`);
  }
  for (const section of view.sections) {
    lines.push("", `${section.title}:`, ...section.lines.map((l) => `  ${l}`));
    if (section.unlisted > 0) lines.push(`  … and ${section.unlisted} more`);
  }
  return lines.join("\n");
}
