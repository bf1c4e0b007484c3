// Parses Meta's usage headers (reference 7.3). A missing header is not zero usage: Meta only sends
// them once enough calls have been made, so "no header" is reported as undefined.

export interface Usage {
  /** The highest of call_count, total_time and total_cputime over every entry, in percent of the limit. */
  maxPercent: number;
  /** From `estimated_time_to_regain_access` (minutes) when Meta says access is blocked. */
  regainAccessMs?: number;
}

const METRICS = ["call_count", "total_time", "total_cputime"] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseJson(value: string | null): unknown {
  if (value === null || value.trim() === "") return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** Folds one usage object into the running result. */
function fold(entry: unknown, acc: { max: number; regain: number; seen: boolean }): void {
  if (!isRecord(entry)) return;
  for (const key of METRICS) {
    const v = num(entry[key]);
    if (v !== undefined) {
      acc.max = Math.max(acc.max, v);
      acc.seen = true;
    }
  }
  const regain = num(entry.estimated_time_to_regain_access);
  if (regain !== undefined) {
    acc.seen = true;
    acc.regain = Math.max(acc.regain, regain);
  }
}

function finish(acc: { max: number; regain: number; seen: boolean }): Usage | undefined {
  if (!acc.seen) return undefined;
  return acc.regain > 0
    ? { maxPercent: acc.max, regainAccessMs: Math.round(acc.regain * 60_000) }
    : { maxPercent: acc.max };
}

/** `X-App-Usage: {"call_count":28,"total_time":25,"total_cputime":25}`. */
export function parseAppUsage(value: string | null): Usage | undefined {
  const json = parseJson(value);
  const acc = { max: 0, regain: 0, seen: false };
  fold(json, acc);
  return finish(acc);
}

/** `X-Business-Use-Case-Usage: {"<id>":[{"type":"instagram","call_count":12,...}]}`. */
export function parseBusinessUseCaseUsage(value: string | null): Usage | undefined {
  const json = parseJson(value);
  if (!isRecord(json)) return undefined;
  const acc = { max: 0, regain: 0, seen: false };
  for (const entries of Object.values(json)) {
    if (Array.isArray(entries)) for (const e of entries) fold(e, acc);
    else fold(entries, acc);
  }
  return finish(acc);
}

/** Both headers combined (the worse of the two); undefined when neither is present and well-formed. */
export function parseUsage(headers: Headers): Usage | undefined {
  const app = parseAppUsage(headers.get("x-app-usage"));
  const buc = parseBusinessUseCaseUsage(headers.get("x-business-use-case-usage"));
  if (!app) return buc;
  if (!buc) return app;
  const regain = Math.max(app.regainAccessMs ?? 0, buc.regainAccessMs ?? 0);
  const maxPercent = Math.max(app.maxPercent, buc.maxPercent);
  return regain > 0 ? { maxPercent, regainAccessMs: regain } : { maxPercent };
}
