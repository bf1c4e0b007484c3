// Classifies Graph API failures (reference 7.1, 7.2) by code and subcode rather than HTTP status,
// into the few outcomes a caller acts on differently.

import { REDIRECT_REFUSED } from "../net/request-fetch.ts";
import { parseBusinessUseCaseUsage } from "./usage.ts";

interface GraphErrorFields {
  /** Meta's error code; undefined for network errors and bodies without one. */
  code: number | undefined;
  subcode: number | undefined;
  /** Meta's message (or the network error's), at most 300 characters. */
  message: string;
  fbtraceId: string | undefined;
  /** HTTP status when Meta answered. */
  status: number | undefined;
  /** Short plain-English explanation, fit to show an agent in chat. */
  reason: string;
}

export type GraphError =
  | (GraphErrorFields & {
      kind: "retryable";
      /** The least time to wait before trying again, when Meta said so. */
      retryAfterMs?: number;
      /** Set when a non-idempotent request may have reached Meta although no answer arrived. */
      maybeDelivered?: boolean;
    })
  | (GraphErrorFields & {
      kind:
        | "window_closed"
        | "user_unavailable"
        | "permission_missing"
        | "token_invalid"
        | "restricted"
        | "bad_request"
        /** Answered with a redirect, which is refused: the base URL (or a proxy) points elsewhere. */
        | "redirected";
    });

export type GraphErrorKind = GraphError["kind"];

const MAX_MESSAGE = 300;
const RATE_LIMIT_CODES = new Set([4, 17, 32, 613, 80001, 80002, 80006]);
const TEMPORARY_CODES = new Set([1, 2]);
const WINDOW_SUBCODES = new Set([2534022, 2018278, 2018065]);

const REASONS = {
  rateLimited: "Instagram is rate limiting this account; it will be retried shortly",
  temporary: "Instagram had a temporary problem",
  handover: "another app controls this conversation right now",
  timeout: "Instagram did not answer in time",
  network: "could not reach Instagram",
  window: "the 24-hour window has closed",
  unavailable: "this person isn't available to message right now",
  noUser: "no matching Instagram user",
  permission: "the app lacks permission for this action (check scopes and App Review)",
  token: "the Instagram connection must be reconnected (token invalid or expired)",
  restricted: "Instagram has temporarily restricted this account from this action",
  badRequest: "Instagram rejected the request as invalid",
} as const;

/** What a refused redirect is told as; `setting` is the environment variable the URL's base
 * comes from. */
export function redirectReason(setting: string): string {
  return `Instagram's API answered with a redirect, which is not followed (check ${setting} and any proxy in between)`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function int(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

function clip(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 1)}…` : s;
}

/** `Retry-After` as delay seconds (fractions accepted) or an HTTP date. */
function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function retryAfterFrom(headers: Headers): number | undefined {
  const buc = parseBusinessUseCaseUsage(headers.get("x-business-use-case-usage"))?.regainAccessMs;
  const header = parseRetryAfter(headers.get("retry-after"));
  if (buc === undefined && header === undefined) return undefined;
  return Math.max(buc ?? 0, header ?? 0);
}

type Decision = { kind: GraphErrorKind; reason: string };

function decide(status: number, code: number | undefined, subcode: number | undefined): Decision {
  if (code !== undefined) {
    if (code === 190) return { kind: "token_invalid", reason: REASONS.token };
    if (code === 368) return { kind: "restricted", reason: REASONS.restricted };
    if (code === 551) return { kind: "user_unavailable", reason: REASONS.unavailable };
    if (code === 10) {
      if (subcode !== undefined && WINDOW_SUBCODES.has(subcode))
        return { kind: "window_closed", reason: REASONS.window };
      if (subcode === 2018108) return { kind: "user_unavailable", reason: REASONS.unavailable };
      if (subcode === 1893063) return { kind: "restricted", reason: REASONS.restricted };
      return { kind: "permission_missing", reason: REASONS.permission };
    }
    if (code === 100) {
      if (subcode === 2018001) return { kind: "user_unavailable", reason: REASONS.noUser };
      return { kind: "bad_request", reason: REASONS.badRequest };
    }
    if (code >= 200 && code <= 299) return { kind: "permission_missing", reason: REASONS.permission };
    if (RATE_LIMIT_CODES.has(code)) return { kind: "retryable", reason: REASONS.rateLimited };
    if (TEMPORARY_CODES.has(code)) return { kind: "retryable", reason: REASONS.temporary };
    if (code === 2018300) return { kind: "retryable", reason: REASONS.handover };
  }
  if (status === 429) return { kind: "retryable", reason: REASONS.rateLimited };
  if (status >= 500) return { kind: "retryable", reason: REASONS.temporary };
  return { kind: "bad_request", reason: REASONS.badRequest };
}

/** Classifies a non-2xx Graph API answer. `body` is the parsed JSON, or anything else when it was not JSON. */
export function classifyGraphError(status: number, body: unknown, headers: Headers): GraphError {
  const err = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  const code = int(err?.code);
  const subcode = int(err?.error_subcode);
  const rawMessage = typeof err?.message === "string" ? err.message : `HTTP ${status}`;
  const fbtraceId = typeof err?.fbtrace_id === "string" ? err.fbtrace_id : undefined;
  const { kind, reason } = decide(status, code, subcode);
  const fields: GraphErrorFields = { code, subcode, message: clip(rawMessage), fbtraceId, status, reason };
  if (kind !== "retryable") return { kind, ...fields };
  const retryAfterMs = retryAfterFrom(headers);
  return retryAfterMs === undefined ? { kind, ...fields } : { kind, ...fields, retryAfterMs };
}

/** Classifies a failure to get any answer: connection errors, resets, timeouts. Always retryable. */
export function classifyNetworkError(err: unknown): GraphError {
  const name = err instanceof Error ? err.name : "";
  const timedOut = name === "TimeoutError" || name === "AbortError";
  const cause = err instanceof Error && isRecord(err.cause) ? err.cause : undefined;
  const detail = typeof cause?.code === "string" ? ` (${cause.code})` : "";
  const base = err instanceof Error ? err.message : String(err);
  // The client asks fetch to refuse redirects (Node's fetch and net/request-fetch.ts both fail the
  // call with this cause). Meta's API does not redirect, so one means IG_GRAPH_URL or a proxy in
  // between points somewhere else: asking again gets the same answer, so it is not retried (it is
  // not `retryable`), nothing acts on it as on a refusal of the request itself (not `bad_request`,
  // which makes a several-image message go again one image at a time), and its reason names where
  // to look rather than "could not reach Instagram".
  if (cause?.message === REDIRECT_REFUSED)
    return {
      kind: "redirected",
      code: undefined,
      subcode: undefined,
      message: clip(`${base} (redirect refused)`),
      fbtraceId: undefined,
      status: undefined,
      reason: redirectReason("IG_GRAPH_URL"),
    };
  return {
    kind: "retryable",
    code: undefined,
    subcode: undefined,
    message: clip(`${base}${detail}`),
    fbtraceId: undefined,
    status: undefined,
    reason: timedOut ? REASONS.timeout : REASONS.network,
  };
}

/** Connection-level failures that prove the request never reached Meta, so a retry cannot duplicate it. */
export function isNeverSent(err: unknown): boolean {
  const cause = err instanceof Error && isRecord(err.cause) ? err.cause : undefined;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN";
}
