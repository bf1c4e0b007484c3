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

type PathSegment = string | number;

export function parseRuleFile(text: string, filename: string): ParseResult {
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

  const errors: RuleFileError[] = [];
  const parsed = ruleFileSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) errors.push(...issueErrors(issue, locate));
  }
  errors.push(...crossChecks(raw, locate));

  if (errors.length > 0 || !parsed.success) return { ok: false, format, errors: sortErrors(dedupe(errors)) };
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
