import {
  formatPath,
  type LocatedSource,
  orderedErrors,
  type PathSegment,
  type RuleFileError,
  readSource,
  schemaErrors,
} from "../rules/load.ts";
import { type Snippet, snippetFileSchema } from "./snippet.ts";

// `threadbridge snippets import FILE`: the whole file is checked before anything is stored, and
// every problem is named with its line, the entry (`snippets[2]`, and its name when it has one)
// and the field, the way rule files are (rules/load.ts reads both kinds of file).

export type SnippetFileError = RuleFileError;

export type SnippetFileResult =
  | { ok: true; snippets: Snippet[]; format: "yaml" | "json" }
  | { ok: false; format: "yaml" | "json"; errors: SnippetFileError[] };

export interface SnippetFileContext {
  /** Whether `account` is connected: a saved reply of an unknown account is refused. */
  accountExists?(account: string): boolean;
}

export function parseSnippetFile(
  text: string,
  filename: string,
  context: SnippetFileContext = {},
): SnippetFileResult {
  const read = readSource(text, filename);
  if (!read.ok) return read;
  const { format, raw, locate } = read.source;
  const errors: SnippetFileError[] = [];
  const parsed = snippetFileSchema.safeParse(raw);
  if (!parsed.success) errors.push(...schemaErrors(parsed.error.issues, locate));
  errors.push(...crossChecks(raw, locate, context));
  const named = errors.map((e) => nameEntry(e, raw));
  if (named.length > 0 || !parsed.success) return { ok: false, format, errors: orderedErrors(named) };
  return { ok: true, format, snippets: parsed.data.snippets };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function entries(raw: unknown): unknown[] {
  return isRecord(raw) && Array.isArray(raw.snippets) ? raw.snippets : [];
}

function accountOf(entry: Record<string, unknown>): string | null {
  const a = entry.account;
  if (a === undefined || a === "*") return null;
  return typeof a === "number" ? String(a) : typeof a === "string" ? a : null;
}

/** `snippets[2]` becomes `snippets[2] (thanks)`: people find an entry by its name. */
function nameEntry(e: SnippetFileError, raw: unknown): SnippetFileError {
  const m = /^snippets\[(\d+)\]/.exec(e.path);
  if (!m) return e;
  const entry = entries(raw)[Number(m[1])];
  const name = isRecord(entry) && typeof entry.name === "string" ? entry.name : undefined;
  return name ? { ...e, path: `${m[0]} (${name})${e.path.slice(m[0].length)}` } : e;
}

function crossChecks(
  raw: unknown,
  locate: LocatedSource["locate"],
  context: SnippetFileContext,
): SnippetFileError[] {
  const errors: SnippetFileError[] = [];
  const at = (path: PathSegment[], message: string) =>
    errors.push({ ...locate(path), path: formatPath(path), message });
  const first = new Map<string, number>();
  entries(raw).forEach((entry, i) => {
    if (!isRecord(entry) || typeof entry.name !== "string") return;
    const account = accountOf(entry);
    const key = `${account ?? "*"}\u0000${entry.name}`;
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, i);
    else
      at(
        ["snippets", i, "name"],
        `"${entry.name}" is already defined ${account === null ? "as a shared saved reply" : `for account ${account}`} by snippets[${earlier}] (line ${locate(["snippets", earlier, "name"]).line})`,
      );
    if (account !== null && /^\d+$/.test(account) && context.accountExists && !context.accountExists(account))
      at(["snippets", i, "account"], `no connected account ${account} (see threadbridge accounts list)`);
  });
  return errors;
}
