import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { z } from "zod";
import { COMMENT_ONLY_ACTIONS, type RuleFile, ruleFileSchema } from "./rule.ts";

// `threadbridge rules import FILE`: the whole file is checked before anything is stored, and
// every problem is reported with the line it is on, so a brand fixes its file in one pass.
// JSON is read by the YAML parser (YAML 1.2 is a superset), which gives both formats the same
// source positions.

export interface RuleFileError {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Where in the document, e.g. `rules[2].trigger.keywords[0]`; empty for the whole file. */
  path: string;
  message: string;
}

export type ParseResult =
  | { ok: true; file: RuleFile; format: "yaml" | "json"; warnings: RuleFileError[] }
  | { ok: false; format: "yaml" | "json"; errors: RuleFileError[] };

export type PathSegment = string | number;

/** A YAML or JSON document read with the source position of every value, so the errors found
 * in it (by a schema, or by checks across fields) can name their line and column. */
export interface LocatedSource {
  format: "yaml" | "json";
  /** The document as plain data (long integers kept whole as strings). */
  raw: unknown;
  /** Where the value at `path` is, or its nearest ancestor that exists. */
  locate(path: readonly PathSegment[]): { line: number; column: number };
}

export type SourceResult =
  | { ok: true; source: LocatedSource }
  | { ok: false; format: "yaml" | "json"; errors: RuleFileError[] };

/** Reads `text` (YAML, or JSON by name or first character) with positions; syntax errors are
 * returned with theirs. Shared by every file people write for the service (rules, saved replies). */
export function readSource(text: string, filename: string): SourceResult {
  const format = /\.json$/i.test(filename) || /^\s*[{[]/.test(text) ? "json" : "yaml";
  const lineCounter = new LineCounter();
  // Instagram ids (17 digits) are past 2^53: read integers as BigInt and turn the unsafe ones
  // into strings, so an unquoted id keeps every digit.
  const doc = parseDocument(text, { lineCounter, intAsBigInt: true, prettyErrors: false, uniqueKeys: true });

  const at = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  if (doc.errors.length > 0) {
    // The tree is unreliable past a syntax error: schema errors would only add noise.
    const errors = doc.errors.map((e) => ({ ...at(e.pos[0]), path: "", message: e.message }));
    return { ok: false, format, errors: sortErrors(errors) };
  }

  const raw: unknown = doc.toJS({
    reviver: (_key, value) =>
      typeof value === "bigint"
        ? Number.isSafeInteger(Number(value))
          ? Number(value)
          : String(value)
        : value,
  });

  const locate = (path: readonly PathSegment[]): { line: number; column: number } => {
    const node = deepestNode(doc.contents, path);
    return at(node?.range?.[0] ?? 0);
  };
  return { ok: true, source: { format, raw, locate } };
}

/** A schema's issues as located errors, one per issue (one per unknown key). */
export function schemaErrors(
  issues: readonly z.core.$ZodIssue[],
  locate: LocatedSource["locate"],
): RuleFileError[] {
  return issues.flatMap((issue) => issueErrors(issue, locate));
}

/** Errors in reading order, each reported once. */
export function orderedErrors(errors: RuleFileError[]): RuleFileError[] {
  return sortErrors(dedupe(errors));
}

/** Checks a rule file's references that only the database can judge (a saved reply a rule sends
 * must exist for its account): given, it is asked for each such reference. */
export interface RuleFileContext {
  /** Whether the saved reply `name` can be sent for `account` ("*": for every account). */
  snippetExists?(account: string, name: string): boolean;
}

export function parseRuleFile(text: string, filename: string, context: RuleFileContext = {}): ParseResult {
  const read = readSource(text, filename);
  if (!read.ok) return read;
  const { format, raw, locate } = read.source;

  const errors: RuleFileError[] = [];
  const parsed = ruleFileSchema.safeParse(raw);
  if (!parsed.success) errors.push(...schemaErrors(parsed.error.issues, locate));
  errors.push(...crossChecks(raw, locate, context));

  if (errors.length > 0 || !parsed.success) return { ok: false, format, errors: orderedErrors(errors) };
  return { ok: true, file: parsed.data, format, warnings: fileWarnings(parsed.data, locate) };
}

/**
 * `rules.yaml, line 12, column 7: rules[1].trigger.regex: invalid regular expression: …`, one
 * line per error: written for the people who edit rule files, not for a compiler's parser.
 */
export function formatRuleFileErrors(filename: string, errors: readonly RuleFileError[]): string {
  return errors
    .map(
      (e) =>
        `${filename}, line ${e.line}, column ${e.column}: ${e.path === "" ? "" : `${e.path}: `}${e.message}`,
    )
    .join("\n");
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      const s = String(seg);
      out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? (out === "" ? s : `.${s}`) : `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

function issueErrors(
  issue: z.core.$ZodIssue,
  locate: (path: readonly PathSegment[]) => { line: number; column: number },
): RuleFileError[] {
  const path = issue.path.filter((p): p is PathSegment => typeof p !== "symbol");
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      ...locate([...path, key]),
      path: formatPath([...path, key]),
      message: `unknown field "${key}"`,
    }));
  }
  let message = issue.message;
  if (issue.code === "invalid_type" && /received undefined$/.test(issue.message)) message = "is required";
  return [{ ...locate(path), path: formatPath(path), message }];
}

/** Points at the value when it exists, else at the nearest ancestor that does. */
function deepestNode(root: Node | null, path: readonly PathSegment[]): Node | null {
  let node: Node | null = root;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (!pair) return node;
      const next = pair.value as Node | null;
      // `key:` with nothing after it: the key is the only place to point at.
      if (next === null || (isScalar(next) && next.value === null && next.range?.[0] === next.range?.[1]))
        return (pair.key as Node | null) ?? node;
      node = next;
    } else if (isSeq(node)) {
      const next = typeof seg === "number" ? (node.items[seg] as Node | undefined) : undefined;
      if (!next) return node;
      node = next;
    } else {
      return node;
    }
  }
  return node;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks across fields, run on the raw value so they report even when other fields are wrong. */
function crossChecks(
  raw: unknown,
  locate: (path: readonly PathSegment[]) => { line: number; column: number },
  context: RuleFileContext,
): RuleFileError[] {
  const errors: RuleFileError[] = [];
  if (!isRecord(raw) || !Array.isArray(raw.rules)) return errors;
  const firstById = new Map<string, number>();
  raw.rules.forEach((rule: unknown, i) => {
    if (!isRecord(rule)) return;
    if (typeof rule.id === "string") {
      const first = firstById.get(rule.id);
      if (first === undefined) firstById.set(rule.id, i);
      else {
        const path = ["rules", i, "id"];
        errors.push({
          ...locate(path),
          path: formatPath(path),
          message: `duplicate rule id "${rule.id}" (first used by rules[${first}], line ${locate(["rules", first, "id"]).line})`,
        });
      }
    }
    if (Array.isArray(rule.actions) && context.snippetExists) {
      const account = typeof rule.account === "number" ? String(rule.account) : rule.account;
      rule.actions.forEach((action: unknown, j) => {
        if (!isRecord(action)) return;
        const name = snippetNameOf(action);
        if (name === undefined || typeof account !== "string" || context.snippetExists?.(account, name))
          return;
        const path = ["rules", i, "actions", j, "snippet" in action ? "snippet" : "name"];
        errors.push({
          ...locate(path),
          path: formatPath(path),
          message:
            account === "*"
              ? `no shared saved reply "${name}": a rule for every account sends a shared one (threadbridge snippets import, without account)`
              : `no saved reply "${name}" for account ${account}, nor a shared one (threadbridge snippets import it first)`,
        });
      });
    }
    const triggerType = isRecord(rule.trigger) ? rule.trigger.type : undefined;
    if (typeof triggerType !== "string" || !Array.isArray(rule.actions)) return;
    rule.actions.forEach((action: unknown, j) => {
      if (!isRecord(action) || typeof action.type !== "string") return;
      if (
        triggerType !== "comment_text" &&
        (COMMENT_ONLY_ACTIONS as readonly string[]).includes(action.type)
      ) {
        const path = ["rules", i, "actions", j, "type"];
        errors.push({
          ...locate(path),
          path: formatPath(path),
          message: `${action.type} acts on the comment that triggered the rule: it needs a comment_text trigger, not ${triggerType}`,
        });
      }
    });
  });
  return errors;
}

/** The saved reply an action sends, written `{ type: snippet, name: N }` or `{ snippet: N }`. */
function snippetNameOf(action: Record<string, unknown>): string | undefined {
  if (action.type === "snippet" && typeof action.name === "string") return action.name;
  if (action.type === undefined && typeof action.snippet === "string") return action.snippet;
  return undefined;
}

function fileWarnings(
  file: RuleFile,
  locate: (path: readonly PathSegment[]) => { line: number; column: number },
): RuleFileError[] {
  const warnings: RuleFileError[] = [];
  file.rules.forEach((rule, i) => {
    if (rule.trigger.type === "outside_hours" && rule.account !== "*" && !file.accounts[rule.account]) {
      const path = ["rules", i, "trigger", "type"];
      warnings.push({
        ...locate(path),
        path: formatPath(path),
        message: `account ${rule.account} has no settings in this file: the rule uses the stored ones and never fires without them`,
      });
    }
  });
  return warnings;
}

function dedupe(errors: RuleFileError[]): RuleFileError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.line}:${e.column}:${e.path}:${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function sortErrors(errors: RuleFileError[]): RuleFileError[] {
  return errors.sort((a, b) => a.line - b.line || a.column - b.column);
}
