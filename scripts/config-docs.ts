// `npm run config-docs`: writes what people are told about the environment from the configuration
// schema, where each variable is declared once with its documentation (`variable(schema, doc)`:
// src/config/config.ts and console-config.ts for the core, each platform's `env` in
// adapters/<name>/index.ts): the tables of docs/configuration.md between its marker comments (the
// prose around them is hand-written), and .env.example whole. `--check` writes nothing and fails
// when a committed file differs; test/config/generated-docs.test.ts runs the same comparison.

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { platforms as built } from "../adapters/index.ts";
import type { PlatformDescriptor } from "../src/chat/platform.ts";
import { type Variable, variables } from "../src/config/config.ts";
import { SECTIONS, type VariableDoc } from "../src/config/env-schema.ts";

const ROOT = new URL("../", import.meta.url);
export const CONFIGURATION_MD = new URL("docs/configuration.md", ROOT);
export const ENV_EXAMPLE = new URL(".env.example", ROOT);

export const BEGIN = "<!-- generated: npm run config-docs -->";
export const END = "<!-- end generated -->";

const AND = new Intl.ListFormat("en", { type: "conjunction" });

interface Documented extends Variable {
  doc: VariableDoc;
}

interface Group {
  title: string;
  /** A sentence before the variables, for a chat platform: how it is turned on. */
  intro?: string;
  variables: Documented[];
}

/** `v` with its documentation; a variable declared without it cannot be documented. */
function documented(v: Variable): Documented {
  if (!v.doc) throw new Error(`${v.name} has no documentation: declare it with variable(schema, { doc, … })`);
  if (!v.platform && !v.doc.section) throw new Error(`${v.name} has no section`);
  return v as Documented;
}

/** How a platform is turned on, from its credentials. */
function platformIntro(p: PlatformDescriptor): string {
  const names = p.credentials.map((name) => `\`${name}\``);
  if (names.length === 0) return `${p.label} is always on.`;
  if (names.length === 1) return `${p.label} is on when ${names[0]} is set.`;
  return `${p.label} is on when ${AND.format(names)} are set, and off when none is; some without the others stop start-up.`;
}

/** The core's variables by section, then each platform's under its label. */
export function groups(platforms: readonly PlatformDescriptor[]): Group[] {
  const all = variables(platforms).map(documented);
  const core = SECTIONS.map((title) => ({
    title,
    variables: all.filter((v) => !v.platform && v.doc.section === title),
  }));
  const chat = platforms.map((p) => ({
    title: p.label,
    intro: platformIntro(p),
    variables: all.filter((v) => v.platform === p),
  }));
  return [...core, ...chat].filter((g) => g.variables.length > 0);
}

/** The default as people read it: a value, what happens when unset, or none. */
function defaultText(doc: VariableDoc, code: (s: string) => string): string {
  if (doc.default !== undefined) return code(doc.default);
  return doc.unset ?? "none";
}

const cell = (s: string) => s.replaceAll("|", "\\|");

/** The generated part of docs/configuration.md: one table per group. */
export function markdownTables(platforms: readonly PlatformDescriptor[]): string {
  const out: string[] = [];
  for (const g of groups(platforms)) {
    out.push(`### ${g.title}`, "");
    if (g.intro) out.push(g.intro, "");
    out.push("| variable | default | meaning |", "| --- | --- | --- |");
    for (const v of g.variables) {
      const name = v.doc.secret ? `\`${v.name}\` (or \`${v.name}_FILE\`)` : `\`${v.name}\``;
      out.push(`| ${cell(name)} | ${cell(defaultText(v.doc, (s) => `\`${s}\``))} | ${cell(v.doc.doc)} |`);
    }
    out.push("");
  }
  return out.join("\n");
}

/** `current` with what lies between the markers replaced; the prose around them stays. */
export function configurationText(current: string, platforms: readonly PlatformDescriptor[]): string {
  const begin = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  if (begin === -1 || end < begin)
    throw new Error(`docs/configuration.md needs the markers ${BEGIN} and ${END}, in that order`);
  return `${current.slice(0, begin + BEGIN.length)}\n\n${markdownTables(platforms)}\n${current.slice(end)}`;
}

/** `text` as `# ` comment lines of at most `width` characters (a longer word gets its own line). */
function comment(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = "#";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== "#" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = "#";
    }
    line += ` ${word}`;
  }
  if (line !== "#") lines.push(line);
  return lines;
}

/** A value as a .env line takes it: quoted when it has spaces, quotes or a `#` (a comment). */
const envValue = (value: string) => (/[\s#"'`\\]/.test(value) ? JSON.stringify(value) : value);

/** .env.example: every variable commented out, with what it does, its default and an example. */
export function envExampleText(platforms: readonly PlatformDescriptor[]): string {
  const secrets = variables(platforms).filter((v) => v.doc?.secret);
  const out = [
    ...comment(
      "threadbridge's environment: every variable it reads, commented out, with its default and an example. Copy this file to .env, which every threadbridge command reads from its working directory (a variable already set in the environment wins), and uncomment what you set. Empty counts as unset.",
    ),
    ...comment(
      `A secret NAME may instead be read from a file: NAME_FILE=/run/secrets/name (the secrets are ${AND.format(secrets.map((v) => v.name))}).`,
    ),
    ...comment(
      "Generated from the configuration schema by `npm run config-docs`: edit the schema, not this file.",
    ),
    "",
  ];
  for (const g of groups(platforms)) {
    out.push(`# ---- ${g.title} ----`, "");
    if (g.intro) out.push(...comment(g.intro), "");
    for (const v of g.variables) {
      out.push(...comment(v.doc.doc));
      out.push(...comment(`default: ${defaultText(v.doc, (s) => s)}`));
      if (v.doc.secret) out.push(`# secret: or ${v.name}_FILE=/path/to/a/file/holding/it`);
      const example = v.doc.example ?? v.doc.default;
      if (example === undefined) throw new Error(`${v.name} has neither an example nor a default`);
      out.push(`#${v.name}=${envValue(example)}`, "");
    }
  }
  return `${out.join("\n").trimEnd()}\n`;
}

/** Each generated file: where it is, what is committed, what it should be. */
export function configDocs(
  platforms: readonly PlatformDescriptor[] = built,
): { path: URL; committed: string; generated: string }[] {
  const configuration = readFileSync(CONFIGURATION_MD, "utf8");
  let example = "";
  try {
    example = readFileSync(ENV_EXAMPLE, "utf8");
  } catch {
    // Not written yet: it differs from what it should be.
  }
  return [
    {
      path: CONFIGURATION_MD,
      committed: configuration,
      generated: configurationText(configuration, platforms),
    },
    { path: ENV_EXAMPLE, committed: example, generated: envExampleText(platforms) },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes("--check");
  let stale = 0;
  for (const f of configDocs()) {
    const name = fileURLToPath(f.path);
    if (f.committed === f.generated) continue;
    if (check) {
      stale++;
      console.error(`${name} is not what the configuration schema makes: run npm run config-docs`);
    } else {
      writeFileSync(f.path, f.generated);
      console.log(`wrote ${name}`);
    }
  }
  process.exitCode = stale > 0 ? 1 : 0;
}
