import { randomBytes } from "node:crypto";
import express from "express";
import type { PgBoss } from "pg-boss";
import { recordAudit } from "../audit/audit-log.ts";
import type { Database, SqlClient } from "../db/database.ts";
import { parseSignedRequest } from "../instagram/signed-request.ts";
import type { Logger } from "../log/logger.ts";
import { bossDb, ERASURE_QUEUE, type ErasureJob } from "../queue/boss.ts";

// Meta's callbacks (reference 6): the data deletion request, the deauthorization, and the public
// status page of a deletion. Both callbacks are signed_requests under the app secret; a forged
// or stale one is refused. An id that matches nothing still gets a code, whose page says nothing
// was stored.
//
// Meta may call more than once, and a captured request can be replayed by anyone while it is
// fresh, so each callback first claims its request in `signed_request_replays`: a repeat gets the
// first answer and changes nothing. The claim is an insert under a primary key, so two identical
// requests at once are told apart by Postgres (the second waits for the first, then conflicts),
// not by a look-then-insert that both could pass.

export interface MetaCallbackDeps {
  db: Database;
  boss: PgBoss;
  appSecrets: readonly string[];
  publicUrl: string;
  log: Logger;
  /** Tell the account's owners it was disconnected from Instagram's side. */
  onDeauthorized(account: string): Promise<void>;
}

const CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE_LENGTH = 12;

/** What the status page accepts as a confirmation code: twelve upper-case letters and digits
 * (Meta asks for an alphanumeric code). Generated codes use a legible subset of these; the page
 * needs only to know that a value is inert and short before it looks it up or shows it. */
export const CONFIRMATION_CODE_FORMAT = /^[A-Z0-9]{12}$/;

function confirmationCode(): string {
  return [...randomBytes(CODE_LENGTH)].map((b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join("");
}

type DeletionOutcome = "started" | "nothing_stored" | "already_pending" | "repeat";

export function metaCallbacksRouter(deps: MetaCallbackDeps): express.Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: "16kb" });

  const verify = (req: express.Request, res: express.Response) => {
    const body = req.body as Record<string, unknown> | undefined;
    const parsed = parseSignedRequest(body?.signed_request, deps.appSecrets);
    if (!parsed.ok) {
      deps.log.warn({ path: req.path, reason: parsed.reason }, "meta callback refused");
      res.status(400).json({ error: parsed.error, detail: parsed.reason });
      return undefined;
    }
    return parsed;
  };

  /** Claims the request for `endpoint`; false when it was answered before (or is being answered
   * now by a transaction that then committed). */
  const claim = async (
    tx: SqlClient,
    endpoint: string,
    request: { replayKey: string; issuedAt: number },
    code: string | null,
  ) => {
    const { rows } = await tx.query(
      `INSERT INTO signed_request_replays (endpoint, payload_sha256, issued_at, code)
       VALUES ($1, $2, to_timestamp($3), $4) ON CONFLICT DO NOTHING RETURNING 1`,
      [endpoint, request.replayKey, request.issuedAt, code],
    );
    return rows.length > 0;
  };

  router.post("/instagram/data-deletion", form, async (req, res) => {
    const request = verify(req, res);
    if (!request) return;
    const userId = request.userId;
    const answer = await deps.db.transaction(
      async (tx): Promise<{ code: string; outcome: DeletionOutcome }> => {
        const code = confirmationCode();
        if (!(await claim(tx, "data-deletion", request, code))) {
          const { rows } = await tx.query<{ code: string }>(
            "SELECT code FROM signed_request_replays WHERE endpoint = 'data-deletion' AND payload_sha256 = $1",
            [request.replayKey],
          );
          const first = rows[0]?.code;
          if (first) return { code: first, outcome: "repeat" };
          throw new Error("a repeated signed_request's first answer is missing");
        }
        // The account row is locked so that two different requests for one account, at once, take
        // turns: the second sees the first's pending request below instead of starting another.
        const { rows } = await tx.query(
          "SELECT 1 FROM instagram_accounts WHERE id = $1 AND status <> 'removed' FOR UPDATE",
          [userId],
        );
        if (rows.length === 0) {
          await tx.query(
            `INSERT INTO data_requests (code, kind, status, completed_at) VALUES ($1, 'deletion', 'nothing_stored', now())`,
            [code],
          );
          return { code, outcome: "nothing_stored" };
        }
        // A new request (not a repeat) while the account's erasure is still under way asks for
        // what is already being done: it gets that request's code, so the person follows one
        // status page, and no second erasure runs over the first.
        const { rows: pending } = await tx.query<{ code: string }>(
          `SELECT code FROM data_requests WHERE account_id = $1 AND kind = 'deletion' AND status = 'pending'
            ORDER BY requested_at LIMIT 1`,
          [userId],
        );
        const pendingCode = pending[0]?.code;
        if (pendingCode) {
          await tx.query(
            "UPDATE signed_request_replays SET code = $2 WHERE endpoint = 'data-deletion' AND payload_sha256 = $1",
            [request.replayKey, pendingCode],
          );
          return { code: pendingCode, outcome: "already_pending" };
        }
        await tx.query(
          `INSERT INTO data_requests (code, kind, account_id, status) VALUES ($1, 'deletion', $2, 'pending')`,
          [code, userId],
        );
        await recordAudit(tx, {
          actor: { kind: "system", id: "meta" },
          account: userId,
          action: "data_deletion_requested",
          target: `request:${code}`,
        });
        await deps.boss.send(ERASURE_QUEUE, { code } satisfies ErasureJob, { db: bossDb(tx) });
        return { code, outcome: "started" };
      },
    );
    deps.log.info(
      { code: answer.code, outcome: answer.outcome },
      answer.outcome === "repeat"
        ? "data deletion request repeated; answered as the first time"
        : answer.outcome === "already_pending"
          ? "data deletion requested again while one is pending; answered with its code"
          : "data deletion requested by Meta",
    );
    res.json({
      url: `${deps.publicUrl}/privacy/deletion/${answer.code}`,
      confirmation_code: answer.code,
    });
  });

  router.post("/instagram/deauthorize", form, async (req, res) => {
    const request = verify(req, res);
    if (!request) return;
    const userId = request.userId;
    const revoked = await deps.db.transaction(async (tx) => {
      if (!(await claim(tx, "deauthorize", request, null))) return undefined;
      const { rows } = await tx.query(
        `UPDATE instagram_accounts SET status = 'revoked', token_ciphertext = NULL, token_key_id = NULL, updated_at = now()
          WHERE id = $1 AND status <> 'removed' RETURNING id`,
        [userId],
      );
      if (rows.length > 0)
        await recordAudit(tx, {
          actor: { kind: "system", id: "meta" },
          account: userId,
          action: "account_deauthorized",
        });
      return rows.length > 0;
    });
    if (revoked === undefined) {
      // A replay must not revoke an account its owner has connected again since, nor alert again.
      deps.log.info({ account: userId }, "deauthorization repeated; nothing done");
    } else if (revoked) {
      deps.log.warn({ account: userId }, "account deauthorized on Instagram; token removed");
      await deps
        .onDeauthorized(userId)
        .catch((err: unknown) => deps.log.error({ err }, "could not alert the owners"));
    }
    res.json({ ok: true });
  });

  router.get("/privacy/deletion/:code", async (req, res) => {
    const code = req.params.code;
    // Only a value in the code format is looked up or shown: anything else gets the same page
    // as an unknown code, which repeats nothing of what was asked.
    const { rows } = CONFIRMATION_CODE_FORMAT.test(code)
      ? await deps.db.query<{ status: string; requested_at: Date; completed_at: Date | null }>(
          "SELECT status, requested_at, completed_at FROM data_requests WHERE code = $1",
          [code],
        )
      : { rows: [] };
    const r = rows[0];
    res
      .status(r ? 200 : 404)
      .type("html")
      .send(r ? statusPage(code, r) : notFoundPage());
  });

  return router;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; line-height: 1.5">
<h1>Data deletion request</h1>${body}</body></html>`;
}

function notFoundPage(): string {
  return page(
    "Data deletion request not found",
    "<p>No deletion request has this confirmation code. Check the code you were given.</p>",
  );
}

function statusPage(
  code: string,
  r: { status: string; requested_at: Date; completed_at: Date | null },
): string {
  const body =
    r.status === "pending"
      ? `<p>Received ${new Date(r.requested_at).toISOString()}. The deletion is in progress.</p>`
      : r.status === "completed"
        ? `<p>Completed ${new Date(r.completed_at ?? r.requested_at).toISOString()}: the account's conversations, messages, events and token were deleted.</p>`
        : `<p>Received ${new Date(r.requested_at).toISOString()}. Nothing was stored about this account, so there was nothing to delete.</p>`;
  return page(`Data deletion ${code}`, `<p>Confirmation code: <strong>${esc(code)}</strong></p>${body}`);
}
