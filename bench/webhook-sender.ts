// Sends signed webhooks from a bench's driver with node:http and a keep-alive agent. The driver
// shares the machine's cores with the processes it measures, so its own cost per webhook is taken
// from them: fetch (undici's WHATWG layer: a Request, a Response, web streams per call) cost the
// capacity driver 0.68–0.72 ms of CPU per event, more than the web process spent taking the webhook
// (bench/README.md, "Mirror capacity, eighth pass").
import { Agent, request } from "node:http";
import { sign } from "../src/instagram/signature.ts";

export interface WebhookSender {
  /** POSTs `body` signed with the app secret; resolves to the answer's status once it is read. */
  send(body: string): Promise<number>;
  close(): void;
}

export function webhookSender(url: string, appSecret: string, connections: number): WebhookSender {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const target = new URL(url);
  return {
    send: (body) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          {
            agent,
            host: target.hostname,
            port: target.port,
            path: target.pathname,
            method: "POST",
            headers: {
              "content-type": "application/json",
              "content-length": Buffer.byteLength(body),
              "x-hub-signature-256": sign(body, appSecret),
            },
          },
          (res) => {
            res.on("error", reject);
            res.on("end", () => resolve(res.statusCode ?? 0));
            res.resume();
          },
        );
        req.on("error", reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}
