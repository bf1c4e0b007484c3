// A real local HTTP server standing in for graph.instagram.com under load (issue 4 tests and the
// outbound bench). Unlike graph-server.ts (a script of answers consumed in order) it answers every
// Send API call by itself with a fresh message id, records each call with its arrival time, and
// measures what Instagram would measure: the most calls of one account and API class in any
// sliding window. Faults are programmed per account: "answer the next N matching calls with …".

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** The rate-limit class Instagram counts a Send API call under (seed 002). */
export type LoadClass = "send_text" | "send_media" | "private_reply" | "get";

export interface LoadCall {
  /** Arrival order over the whole server, from 0. */
  seq: number;
  method: string;
  path: string;
  /** The account in the path (`/:version/:account/messages`); the id looked up for GETs. */
  account: string;
  cls: LoadClass;
  /** performance.now() at arrival (this process's monotonic clock). */
  at: number;
  body: SendBodyShape | undefined;
  /** `recipient.id` or `recipient.comment_id`. */
  recipient: string | undefined;
  text: string | undefined;
  /** The message id the server assigned (Send API calls answered or held), even when the caller
   * never saw the answer (a held call whose client died). */
  messageId: string | undefined;
  /** What was answered: the HTTP status, or "held" while a call is held / "dropped" when its client went away. */
  outcome: number | "held" | "dropped";
  /** Name of the fault that answered it, when one did. */
  fault: FaultKind | undefined;
}

export interface SendBodyShape {
  recipient?: { id?: string; comment_id?: string };
  message?: { text?: string; attachment?: { type?: string; payload?: { url?: string } } };
  messaging_type?: string;
  tag?: string;
}

export type FaultKind =
  | "rate_limit"
  | "server_error"
  | "delay"
  | "hold"
  | "token_invalid"
  | "window_closed"
  | "user_unavailable"
  | "permission"
  | "bad_request";

export interface Fault {
  kind: FaultKind;
  /** How many matching calls it answers; default 1. */
  count?: number;
  /** Only calls of this account; default any. */
  account?: string;
  /** Only calls whose text contains this; default any. */
  textIncludes?: string;
  /** rate_limit: Graph code 4 (app) or 613 (calls within one hour); default 4. */
  code?: 4 | 613;
  /** rate_limit: send `X-Business-Use-Case-Usage` with this `estimated_time_to_regain_access` (minutes, may be fractional). */
  regainMinutes?: number;
  /** permission: code 10 (default) or 200. */
  permissionCode?: 10 | 200;
  /** delay: how long before the normal answer; default 1000 ms. */
  delayMs?: number;
}

export interface GraphLoadServer {
  url: string;
  calls: LoadCall[];
  /** Queue a fault; faults are tried in the order given, the first matching one answers. */
  fault(f: Fault): void;
  /** Faults not yet used up. */
  pendingFaults(): number;
  /** Answers every held call normally (200 with its message id). */
  releaseHeld(): void;
  /** Successful Send API calls (status 200) of `account` (all accounts when omitted). */
  sent(account?: string): LoadCall[];
  /** Most calls of `account` in class `cls` inside any window of `windowMs` (half-open), counting
   * every call that reached the server, answered or not: Instagram counts calls, not successes. */
  maxInWindow(account: string, cls: LoadClass, windowMs: number): number;
  /** Waits until `n` calls matching `filter` arrived; rejects after `ms`. */
  waitForCalls(n: number, filter?: (c: LoadCall) => boolean, ms?: number): Promise<LoadCall[]>;
  reset(): void;
  close(): Promise<void>;
}

/** Largest number of timestamps in any half-open window [t, t + windowMs). */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let max = 0;
  let j = 0;
  for (let i = 0; i < t.length; i++) {
    while ((t[i] as number) - (t[j] as number) >= windowMs) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

function classOf(body: SendBodyShape | undefined): LoadClass {
  if (body?.recipient?.comment_id) return "private_reply";
  const type = body?.message?.attachment?.type;
  return type === "audio" || type === "video" ? "send_media" : "send_text";
}

function graphError(code: number, message: string, subcode?: number) {
  return {
    error: {
      message,
      type: "OAuthException",
      code,
      ...(subcode === undefined ? {} : { error_subcode: subcode }),
      fbtrace_id: "AfakeTraceId",
    },
  };
}

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

function faultAnswer(f: Fault, account: string): Answer {
  switch (f.kind) {
    case "rate_limit": {
      const code = f.code ?? 4;
      const headers: Record<string, string> = {};
      if (f.regainMinutes !== undefined)
        headers["x-business-use-case-usage"] = JSON.stringify({
          [account]: [
            {
              type: "messenger",
              call_count: 100,
              total_cputime: 10,
              total_time: 10,
              estimated_time_to_regain_access: f.regainMinutes,
            },
          ],
        });
      return {
        status: 400,
        body: graphError(
          code,
          code === 613
            ? "Calls to this api have exceeded the rate limit."
            : "Application request limit reached",
        ),
        headers,
      };
    }
    case "server_error":
      return {
        status: 500,
        body: graphError(2, "An unexpected error has occurred. Please retry your request later."),
      };
    case "token_invalid":
      return {
        status: 401,
        body: graphError(190, "Error validating access token: Session has expired.", 463),
      };
    case "window_closed":
      return {
        status: 400,
        body: graphError(10, "This message is sent outside of allowed window.", 2534022),
      };
    case "user_unavailable":
      return { status: 400, body: graphError(551, "This person isn't available right now.", 1545041) };
    case "permission":
      return f.permissionCode === 200
        ? { status: 403, body: graphError(200, "Requires instagram_business_manage_messages permission") }
        : { status: 403, body: graphError(10, "Application does not have permission for this action") };
    case "bad_request":
      return { status: 400, body: graphError(100, "Invalid parameter") };
    case "delay":
    case "hold":
      throw new Error("not an error fault");
  }
}

export async function startGraphLoadServer(): Promise<GraphLoadServer> {
  const calls: LoadCall[] = [];
  const faults: Array<Fault & { left: number }> = [];
  const held = new Map<LoadCall, () => void>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();
  let seq = 0;
  let mids = 0;

  const takeFault = (call: LoadCall): Fault | undefined => {
    const i = faults.findIndex(
      (f) =>
        (f.account === undefined || f.account === call.account) &&
        (f.textIncludes === undefined || (call.text ?? "").includes(f.textIncludes)),
    );
    const f = faults[i];
    if (!f) return undefined;
    f.left -= 1;
    if (f.left <= 0) faults.splice(i, 1);
    return f;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string, at: number): void => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const segments = url.pathname.split("/").filter(Boolean); // [version, account, "messages"] or [version, id]
    const isSend = req.method === "POST" && segments.length === 3 && segments[2] === "messages";
    let body: SendBodyShape | undefined;
    try {
      body = raw === "" ? undefined : (JSON.parse(raw) as SendBodyShape);
    } catch {
      body = undefined;
    }
    const call: LoadCall = {
      seq: seq++,
      method: req.method ?? "",
      path: url.pathname,
      account: segments[1] ?? "",
      cls: isSend ? classOf(body) : "get",
      at,
      body,
      recipient: body?.recipient?.id ?? body?.recipient?.comment_id,
      text: body?.message?.text,
      messageId: undefined,
      outcome: "held",
      fault: undefined,
    };
    calls.push(call);
    for (const w of waiters) w();

    const send = (a: Answer): void => {
      call.outcome = a.status;
      if (res.destroyed) {
        call.outcome = "dropped";
        return;
      }
      res.writeHead(a.status, { "content-type": "application/json", ...a.headers });
      res.end(JSON.stringify(a.body));
    };
    const normal = (): Answer => {
      if (isSend) {
        call.messageId ??= `mid.load.${++mids}.${call.account}`;
        return { status: 200, body: { recipient_id: call.recipient ?? "", message_id: call.messageId } };
      }
      if (req.method === "GET" && segments.length === 2)
        return {
          status: 200,
          body: url.searchParams.get("fields")?.includes("media_type")
            ? {
                id: segments[1],
                caption: "a post",
                permalink: "https://instagram.com/p/x",
                media_type: "IMAGE",
              }
            : { name: "Load Test", username: `user_${segments[1]}` },
        };
      return { status: 404, body: graphError(100, "Unknown path") };
    };

    const fault = isSend || req.method === "GET" ? takeFault(call) : undefined;
    call.fault = fault?.kind;
    if (!fault) {
      send(normal());
      return;
    }
    if (fault.kind === "delay") {
      const t = setTimeout(() => {
        timers.delete(t);
        send(normal());
      }, fault.delayMs ?? 1000);
      timers.add(t);
      return;
    }
    if (fault.kind === "hold") {
      // Instagram received it and will deliver it; the answer is held until released.
      call.messageId = `mid.load.${++mids}.${call.account}`;
      held.set(call, () => send(normal()));
      res.on("close", () => {
        if (held.delete(call)) call.outcome = "dropped";
      });
      return;
    }
    send(faultAnswer(fault, call.account));
  };

  // Each call is stamped with the time its first byte was read from the socket (a request's
  // headers may come in a later read than its first byte on a slow machine). A connection carries
  // one request at a time (no pipelining), so the first read after an answer starts the next one.
  const firstByte = new WeakMap<Socket, number>();
  const server = createServer((req, res) => {
    const at = firstByte.get(req.socket) ?? performance.now();
    res.on("finish", () => firstByte.delete(req.socket));
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8"), at));
  });
  server.on("connection", (socket: Socket) => {
    // Ahead of the HTTP parser's own listener, which may emit the request in the same read.
    socket.prependListener("data", () => {
      if (!firstByte.has(socket)) firstByte.set(socket, performance.now());
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    fault(f) {
      faults.push({ ...f, left: f.count ?? 1 });
    },
    pendingFaults: () => faults.length,
    releaseHeld() {
      const all = [...held.values()];
      held.clear();
      for (const answer of all) answer();
    },
    sent: (account) =>
      calls.filter((c) => c.outcome === 200 && c.cls !== "get" && (!account || c.account === account)),
    maxInWindow: (account, cls, windowMs) =>
      maxInWindow(
        calls.filter((c) => c.account === account && c.cls === cls).map((c) => c.at),
        windowMs,
      ),
    waitForCalls(n, filter = () => true, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const matching = calls.filter(filter);
          if (matching.length < n) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(matching);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `timed out after ${ms} ms waiting for ${n} calls (have ${calls.filter(filter).length})`,
            ),
          );
        }, ms);
        waiters.add(check);
        check();
      });
    },
    reset() {
      calls.length = 0;
      faults.length = 0;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      held.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
