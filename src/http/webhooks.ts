import express, { type Request, type Response, Router } from "express";
import { type IngestBatcher, IngestOverloadedError } from "../ingest/ingest-batcher.ts";
import { unstorable } from "../ingest/store-events.ts";
import type { InboundRecord } from "../instagram/events.ts";
import { verifySignature } from "../instagram/signature.ts";
import { parseWebhook } from "../instagram/webhook.ts";
import type { Logger } from "../log/logger.ts";
import { eventKindLabel, type Metrics } from "../observability/metrics.ts";
import { inSpan } from "../tracing/spans.ts";
import { answerLogged } from "./expected-answer.ts";
import { jsonNestsDeeperThan } from "./json-depth.ts";

/** Meta's payloads nest about ten levels deep (an attachment's payload inside a message inside an
 * item inside an entry); anything past this is not a delivery Meta made. */
export const MAX_WEBHOOK_DEPTH = 64;

/** The answer Meta expects, made once. Written as it is: express's send() would hash it for an ETag
 * and check the request's freshness for every delivery, which the answer to a POST has no use for. */
const RECEIVED = Buffer.from("EVENT_RECEIVED");
const RECEIVED_HEADERS = { "content-type": "text/plain; charset=utf-8", "content-length": RECEIVED.length };

/** Where Meta delivers. Every answer on it is logged by the route itself, at its level: the
 * request log leaves the path out (http/app.ts, `selfLoggedPaths`). */
export const WEBHOOK_PATH = "/webhooks/instagram";

export interface WebhookDeps {
  ingest: IngestBatcher;
  log: Logger;
  metrics: Metrics;
  verifyToken: string | undefined;
  appSecrets: readonly string[];
  maxBody: string;
}

/** Counts the delivery's events that were not stored (already stored before), by their kind. */
function countDuplicates(
  metrics: Metrics,
  records: readonly InboundRecord[],
  stored: ReadonlyArray<{ accountId: string; dedupeKey: string }>,
): void {
  const storedKeys = new Set(stored.map((e) => `${e.accountId}\u0000${e.dedupeKey}`));
  const byKind = new Map<string, number>();
  for (const r of records) {
    if (storedKeys.delete(`${r.event.accountId}\u0000${r.dedupeKey}`)) continue;
    const kind = eventKindLabel(r.event.type);
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }
  for (const [kind, n] of byKind) metrics.webhookEvents.inc({ kind, outcome: "duplicate" }, n);
}

function refuse(res: Response, deps: WebhookDeps, status: number, reason: string, detail: string): void {
  deps.metrics.webhookRejected.inc({ reason });
  // Every refusal is logged by the route with its reason; the request log need not repeat it.
  answerLogged(res).status(status).json({ error: reason, detail });
}

/** `GET` and `POST /webhooks/instagram`: the handshake, and events answered only once stored. */
export function webhookRouter(deps: WebhookDeps): Router {
  const router = Router();
  const { log } = deps;

  router.get(WEBHOOK_PATH, (req: Request, res: Response) => {
    const mode = req.query["hub.mode"];
    const token = req.query["hub.verify_token"];
    const challenge = req.query["hub.challenge"];
    if (mode !== "subscribe" || typeof challenge !== "string") {
      log.warn({ mode }, "webhook handshake: not a subscribe request");
      res.status(400).json({ error: "bad_request", detail: "expected hub.mode=subscribe and hub.challenge" });
      return;
    }
    if (!deps.verifyToken || token !== deps.verifyToken) {
      log.warn("webhook handshake refused: verify token does not match IG_VERIFY_TOKEN");
      res.status(403).json({ error: "forbidden", detail: "hub.verify_token does not match" });
      return;
    }
    log.info("webhook handshake accepted");
    res.status(200).type("text/plain").send(challenge);
  });

  router.post(
    WEBHOOK_PATH,
    // Raw bytes: the signature covers the body exactly as sent, never a re-serialisation.
    express.raw({ type: () => true, limit: deps.maxBody }),
    async (req: Request, res: Response) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (deps.appSecrets.length === 0) {
        log.error("webhook refused: no app secret configured (IG_APP_SECRET)");
        refuse(res, deps, 503, "not_configured", "IG_APP_SECRET is not set, so no signature can be checked");
        return;
      }
      const check = verifySignature(raw, req.get("x-hub-signature-256"), deps.appSecrets);
      if (!check.ok) {
        log.warn({ reason: check.reason, bytes: raw.length }, "webhook refused: bad signature");
        const detail = {
          missing: "X-Hub-Signature-256 header is missing",
          malformed: "X-Hub-Signature-256 must be sha256= followed by 64 hex digits",
          mismatch: "X-Hub-Signature-256 does not match the body under the app secret",
        }[check.reason];
        refuse(res, deps, 401, "invalid_signature", detail);
        return;
      }
      if (jsonNestsDeeperThan(raw, MAX_WEBHOOK_DEPTH)) {
        log.warn({ bytes: raw.length, limit: MAX_WEBHOOK_DEPTH }, "webhook refused: JSON nested too deep");
        refuse(
          res,
          deps,
          400,
          "too_deep",
          `the body nests arrays/objects deeper than ${MAX_WEBHOOK_DEPTH} levels`,
        );
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch (err) {
        log.warn({ bytes: raw.length }, "webhook refused: body is not JSON");
        refuse(res, deps, 400, "invalid_json", (err as Error).message.slice(0, 200));
        return;
      }
      const parsed = parseWebhook(body);
      if (!parsed.ok) {
        log.warn({ reason: parsed.reason }, "webhook refused: unexpected shape");
        refuse(res, deps, 400, "invalid_payload", parsed.reason);
        return;
      }
      for (const warning of parsed.warnings)
        log.warn({ warning }, "webhook item not understood; stored as unknown");
      try {
        const result = await inSpan(
          "webhook store",
          { attributes: { "threadbridge.events": parsed.records.length } },
          async (span) => {
            const stored = await deps.ingest.submit(parsed.records);
            span.setAttributes({
              "threadbridge.events.stored": stored.stored.length,
              "threadbridge.events.duplicates": stored.duplicates,
            });
            return stored;
          },
        );
        for (const e of result.stored) {
          deps.metrics.webhookEvents.inc({ kind: eventKindLabel(e.kind), outcome: "stored" });
          if (e.kind === "unknown")
            log.warn({ eventId: e.id, account: e.accountId }, "unknown webhook event stored");
        }
        if (result.duplicates > 0) countDuplicates(deps.metrics, parsed.records, result.stored);
        log.debug({ stored: result.stored.length, duplicates: result.duplicates }, "webhook stored");
        res.writeHead(200, RECEIVED_HEADERS).end(RECEIVED);
      } catch (err) {
        if (err instanceof IngestOverloadedError) {
          // Not stored, so not acknowledged, like any 503: Meta delivers it again later. Refused at
          // once rather than queued behind a stalled or saturated database without bound.
          log.warn({ waiting: deps.ingest.waiting }, "webhook refused: too many events wait to be stored");
          refuse(res, deps, 503, "overloaded", "too many events wait to be stored; retry later");
          return;
        }
        if (unstorable(err)) {
          // Every redelivery would fail the same way: a definite answer, not a retry forever. Only
          // the code and class are logged: a data error's message can quote the payload.
          const code = (err as { code?: unknown }).code;
          log.error(
            { code: typeof code === "string" ? code : undefined, type: (err as Error).name },
            "webhook refused: its events can never be stored as sent; answering 400",
          );
          refuse(res, deps, 400, "unstorable", "the events of this delivery cannot be stored");
          return;
        }
        // Not stored, so not acknowledged: Meta delivers it again.
        log.error({ err }, "webhook not stored; answering 503 so Meta retries");
        refuse(res, deps, 503, "unavailable", "the event could not be stored; retry later");
      }
    },
  );

  return router;
}
