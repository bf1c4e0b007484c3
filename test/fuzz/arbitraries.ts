import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";

// Inputs for fuzzing what the outside world sends: real payloads (the webhook fixtures, recorded
// Slack and Discord shapes) mutated at random places, plus the classic troublemakers: deep nesting,
// huge strings, odd Unicode, wrong types. Runs are seeded (FUZZ_SEED) so a failure can be replayed.

export const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
/** `npm test` replays a fixed seed, so CI is deterministic; `npm run fuzz` (FUZZ_RUNS set) explores
 * new cases every run, and FUZZ_SEED replays one. */
export const SEED =
  process.env.FUZZ_SEED !== undefined
    ? Number(process.env.FUZZ_SEED)
    : process.env.FUZZ_RUNS
      ? undefined
      : 20261124;

const FIXTURES = new URL("../fixtures/webhooks/", import.meta.url);

export const webhookFixtures: unknown[] = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(new URL(f, FIXTURES), "utf8")) as unknown);

/** Strings that have broken parsers elsewhere: lone surrogates, RTL marks, NULs, emoji sequences. */
export const oddString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 64 }),
  fc.string({ unit: "grapheme", maxLength: 64 }),
  fc.constantFrom(
    "\u0000",
    "\ud800",
    "\udfff",
    "\u202e\u0041\u0042",
    "👨‍👩‍👧‍👦".repeat(20),
    "Z̷̛̖a̶͚͝l̸̰̈g̴̣͠o̷͔̊",
    "﷽",
    "\r\n\t\u2028\u2029",
    "<@U123> <!channel> @everyone <#C1>",
    "`".repeat(50),
    "%s%n%x",
    "__proto__",
    "constructor",
  ),
);

export const hugeString = fc.integer({ min: 10_000, max: 200_000 }).map((n) => "x".repeat(n));

/** Any JSON value, odd strings included. */
export const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: oddString },
  { weight: 1, arbitrary: hugeString },
  {
    weight: 1,
    arbitrary: fc.constantFrom(null, true, 0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, "", [], {}),
  },
);

/** Nested `depth` levels deep, as arrays or objects. */
export function nested(depth: number, asObject: boolean): string {
  return asObject
    ? `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`
    : `${"[".repeat(depth)}1${"]".repeat(depth)}`;
}

type Path = (string | number)[];

function paths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) for (const [i, v] of value.entries()) paths(v, [...prefix, i], out);
  else if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function setAt(root: unknown, path: Path, value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (remove && Array.isArray(node)) node.splice(Number(last), 1);
  else if (remove) delete node[last];
  else node[last] = value;
  return copy;
}

/** `base` with a few random places replaced by random values or removed. */
export function mutated(base: unknown): fc.Arbitrary<unknown> {
  const all = paths(base);
  const mutation = fc.record({
    at: fc.integer({ min: 0, max: all.length - 1 }),
    value: jsonish,
    remove: fc.boolean(),
  });
  return fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => {
    let value = base;
    for (const m of ms) {
      const current = paths(value);
      const path = current[m.at % current.length] as Path;
      value = setAt(value, path, m.value, m.remove && path.length > 0);
    }
    return value;
  });
}
