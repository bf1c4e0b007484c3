import { z } from "zod";

// Pieces of the environment schema shared by config.ts, the feature sections it includes and each
// chat platform's descriptor: every variable is declared once, with `variable(schema, doc)`, and
// docs/configuration.md and .env.example are generated from those declarations
// (`npm run config-docs`, scripts/config-docs.ts).

/** An environment variable that is present but empty counts as unset. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), schema.optional());

/** Where the core's variables are listed, in this order; each chat platform's follow, under its
 * label. */
export const SECTIONS = [
  "Service",
  "Traces",
  "Storage",
  "Instagram",
  "Console",
  "Queue and workers",
  "Sending and rate limits",
  "Digests and reminders",
  "Privacy and retention",
  "Chat",
] as const;
export type Section = (typeof SECTIONS)[number];

/** What people are told about one variable: its row in docs/configuration.md and its entry in
 * .env.example. */
export interface VariableDoc {
  /** What it does and what it takes: one paragraph of Markdown, starting in lower case. */
  doc: string;
  /** A value meaning the same as leaving it unset, shown as its default (test/config checks that it
   * is one). */
  default?: string;
  /** What happens when it is unset, where no value means the same ("off", "generated into
   * `DATA_DIR`"). Neither this nor `default`: nothing happens ("none"). */
  unset?: string;
  /** A value for .env.example when `default` is not the one to show; the configuration accepts it,
   * except a secret's, which is a placeholder. */
  example?: string;
  /** A credential: NAME_FILE may name a file holding it instead. */
  secret?: boolean;
  /** Where a core variable is listed; a platform's are listed under the platform's label. */
  section?: Section;
}

/** The documentation of every variable declared with `variable`, kept by zod beside the schema. */
export const envDocs = z.registry<VariableDoc>();

/** An optional environment variable (empty counts as unset) and what people are told about it. */
export const variable = <T extends z.ZodType>(schema: T, doc: VariableDoc) => {
  const declared = optional(schema);
  envDocs.add(declared, doc);
  return declared;
};

export const url = (what: string) =>
  z.url({ error: `expected ${what}` }).refine((u) => /^https?:\/\//.test(u), { error: `expected ${what}` });

/** A whole number from `min` to `max`; every complaint says the same, e.g. "expected hours, 1 to 720". */
export const intInRange = (min: number, max: number, what: string) => {
  const error = `expected ${what}, ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** A credential's value in `settings`, which the core calls only once every credential is set. */
export function credential<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new ConfigError(`${name}: required`);
  return value;
}
