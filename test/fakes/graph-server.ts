// A real local HTTP server standing in for graph.instagram.com: it records every request and
// answers from a per-test script (a queue of responses, consumed in order).

import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
}

export interface ScriptedResponse {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering (for timeouts). */
  delayMs?: number;
}

export interface GraphServer {
  url: string;
  requests: RecordedRequest[];
  /** Queues responses for the next requests; an unscripted request gets a 599. */
  script(...responses: ScriptedResponse[]): void;
  close(): Promise<void>;
}

/** Answers requests no script is queued for (tests that need a whole Graph API, not one call). */
export type GraphResponder = (req: RecordedRequest) => ScriptedResponse | undefined;

export async function startGraphServer(respond?: GraphResponder): Promise<GraphServer> {
  const requests: RecordedRequest[] = [];
  const queue: ScriptedResponse[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      try {
        body = text === "" ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      const url = new URL(req.url ?? "/", "http://localhost");
      const recorded: RecordedRequest = {
        method: req.method ?? "",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body,
      };
      requests.push(recorded);
      const next = queue.shift() ??
        respond?.(recorded) ?? { status: 599, body: { error: { message: "unscripted request" } } };
      const answer = () => {
        res.writeHead(next.status ?? 200, { "content-type": "application/json", ...next.headers });
        res.end(next.body === undefined ? "" : JSON.stringify(next.body));
      };
      if (next.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          if (!res.destroyed) answer();
        }, next.delayMs);
        timers.add(t);
      } else answer();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...responses) => {
      queue.push(...responses);
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
