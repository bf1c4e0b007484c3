// A `fetch` for an API client that calls its API many times a second and reads every answer whole:
// the Slack Web API client, which calls once or twice for every mirrored event. Node's fetch is
// undici's WHATWG layer (a Request, a Response and web streams for every call); undici's own
// request API under it costs a fraction of that. In one process here, 4 calls at a time to a local
// server answering a chat.postMessage-sized JSON: 0.25 ms of CPU per call through fetch against
// 0.09 ms through this (bench/README.md, "Mirror capacity, thirteenth pass").
//
// It keeps fetch's contract for what such a client asks of it: the call's method, headers, a
// string or byte body, its signal (an abort rejects with the signal's reason, as fetch's does),
// `redirect: "error"` (a redirect fails the call, as fetch's does), a network failure as fetch's
// `TypeError("fetch failed")` with the cause beside it, and a real Response holding the answer's
// status, headers, URL and body. Anything else (a Request object, a form or stream body, redirects
// followed or handed back) goes to `fallback`, Node's fetch unless told: file uploads and downloads
// stream, and keep it.
import { STATUS_CODES } from "node:http";

type Undici = typeof import("undici");
let loading: Promise<Undici> | undefined;
let loaded: Undici | undefined;
// Loaded with the first call: a process that never calls an API (the CLI) never loads it. Once
// loaded, a call takes it without a turn through a promise.
const loadUndici = async (): Promise<Undici> => {
  loading ??= import("undici");
  loaded = await loading;
  return loaded;
};

/** The cause fetch gives a call that `redirect: "error"` refused (Node's fetch, undici's
 * `makeNetworkError('unexpected redirect')`, and this one alike): what callers tell it by. */
export const REDIRECT_REFUSED = "unexpected redirect";

/** Statuses whose Response may not have a body (the Fetch standard's null body statuses). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

const isRedirect = (status: number) => status >= 300 && status < 400;

function plainHeaders(
  headers: RequestInit["headers"],
): Record<string, string> | [string, string][] | undefined {
  if (headers === undefined) return undefined;
  if (headers instanceof Headers) return [...headers];
  if (Array.isArray(headers)) return headers as [string, string][];
  return headers as Record<string, string>;
}

/** The fetch: see the module's comment for what it takes itself and what it hands to `fallback`. */
export function requestFetch(fallback: typeof fetch = globalThis.fetch): typeof fetch {
  const call = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const body = init?.body ?? undefined;
    const ownBody = body === undefined || typeof body === "string" || body instanceof Uint8Array;
    if (input instanceof Request || !ownBody || init?.redirect !== "error") return fallback(input, init);
    const url = String(input);
    const signal = init.signal ?? undefined;
    const { request } = loaded ?? (await loadUndici());
    let answer: Awaited<ReturnType<Undici["request"]>>;
    let bytes: ArrayBuffer;
    try {
      answer = await request(url, {
        method: (init.method ?? "GET") as "GET",
        headers: plainHeaders(init.headers),
        ...(body === undefined ? {} : { body }),
        ...(signal ? { signal } : {}),
      });
      bytes = await answer.body.arrayBuffer();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new TypeError("fetch failed", { cause: err });
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (typeof value === "string") headers.append(name, value);
      else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    }
    const status = answer.statusCode;
    if (isRedirect(status) && headers.has("location"))
      throw new TypeError("fetch failed", { cause: new Error(REDIRECT_REFUSED) });
    const response = new Response(NULL_BODY.has(status) ? null : bytes, {
      status,
      statusText: answer.statusText || STATUS_CODES[status] || "",
      headers,
    });
    // A constructed Response has no URL; fetch's says where the answer came from.
    Object.defineProperty(response, "url", { value: url });
    return response;
  };
  return call as typeof fetch;
}
