// `npm run manifests`: writes what the platforms are told about `/ig` from the command registry
// (src/commands/catalog.ts): manifest/discord-commands.json whole, and the `/ig` entry (description
// and usage hint) and the message shortcuts (adapters/slack/shortcuts.ts) of manifest/slack.yaml. `--check` writes nothing and fails when a committed file
// differs from what would be written; test/commands/manifests.test.ts runs the same comparison.

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isMap, isScalar, isSeq, parseDocument } from "yaml";
import { commandManifest } from "../adapters/discord/ig-command.ts";
import { manifestEntry } from "../adapters/slack/ig-command.ts";
import { MESSAGE_SHORTCUTS } from "../adapters/slack/shortcuts.ts";
import { SLASH_COMMAND } from "../src/commands/catalog.ts";

const ROOT = new URL("../", import.meta.url);
export const DISCORD_MANIFEST = new URL("manifest/discord-commands.json", ROOT);
export const SLACK_MANIFEST = new URL("manifest/slack.yaml", ROOT);

export function discordManifestText(): string {
  return `${JSON.stringify(commandManifest(), null, 2)}\n`;
}

/** `current` with the `/ig` command's description and usage_hint replaced in place: the rest of
 * the file (comments, folding) is left exactly as written. */
export function slackManifestText(current: string): string {
  const doc = parseDocument(current, { keepSourceTokens: true });
  const commands = doc.getIn(["features", "slash_commands"], true);
  const ig = isSeq(commands)
    ? commands.items.find((c) => isMap(c) && c.get("command") === `/${SLASH_COMMAND.name}`)
    : undefined;
  if (!isMap(ig)) throw new Error("manifest/slack.yaml has no features.slash_commands entry for /ig");
  const edits: { from: number; to: number; text: string }[] = [];
  for (const [key, value] of Object.entries(manifestEntry())) {
    const node = ig.get(key, true);
    if (!isScalar(node) || !node.range) throw new Error(`manifest/slack.yaml: /ig has no ${key}`);
    // A double-quoted YAML scalar reads like a JSON string.
    edits.push({ from: node.range[0], to: node.range[1], text: JSON.stringify(value) });
  }
  const shortcuts = doc.getIn(["features", "shortcuts"], true);
  if (!isSeq(shortcuts) || !shortcuts.range)
    throw new Error("manifest/slack.yaml has no features.shortcuts list");
  const [start, end] = shortcuts.range;
  const indent = current.slice(current.lastIndexOf("\n", start - 1) + 1, start);
  // The list's range takes in the line break after it: keep it.
  const after = /\s*$/.exec(current.slice(start, end))?.[0] ?? "";
  edits.push({
    from: start,
    to: end,
    text: `${MESSAGE_SHORTCUTS.map((m) =>
      [
        `- name: ${JSON.stringify(m.name)}`,
        "  type: message",
        `  callback_id: ${m.callback_id}`,
        `  description: ${JSON.stringify(m.description)}`,
      ].join(`\n${indent}`),
    ).join(`\n${indent}`)}${after}`,
  });
  let text = current;
  for (const e of edits.sort((a, b) => b.from - a.from))
    text = text.slice(0, e.from) + e.text + text.slice(e.to);
  return text;
}

/** Each generated file: where it is, what is committed, what it should be. */
export function manifests(): { path: URL; committed: string; generated: string }[] {
  const slack = readFileSync(SLACK_MANIFEST, "utf8");
  return [
    {
      path: DISCORD_MANIFEST,
      committed: readFileSync(DISCORD_MANIFEST, "utf8"),
      generated: discordManifestText(),
    },
    { path: SLACK_MANIFEST, committed: slack, generated: slackManifestText(slack) },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes("--check");
  let stale = 0;
  for (const m of manifests()) {
    const name = fileURLToPath(m.path);
    if (m.committed === m.generated) continue;
    if (check) {
      stale++;
      console.error(`${name} is not what the command registry makes: run npm run manifests`);
    } else {
      writeFileSync(m.path, m.generated);
      console.log(`wrote ${name}`);
    }
  }
  process.exitCode = stale > 0 ? 1 : 0;
}
