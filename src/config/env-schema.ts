import { z } from "zod";

// Pieces of the environment schema shared by config.ts, the feature sections it includes, and the
// chat platforms' descriptors (adapters/<name>/index.ts), which declare their own variables.

/** An environment variable that is present but empty counts as unset. */
export const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), schema.optional());

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
