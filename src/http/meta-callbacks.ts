import { randomBytes } from "node:crypto";
import express from "express";
import type { PgBoss } from "pg-boss";
import { recordAudit } from "../audit/audit-log.ts";
import type { Database } from "../db/database.ts";
import { parseSignedRequest } from "../instagram/signed-request.ts";
import type { Logger } from "../log/logger.ts";
import { bossDb, ERASURE_QUEUE, type ErasureJob } from "../queue/boss.ts";

// Meta's callbacks (reference 6): the data deletion request, the deauthorization, and the public
// status page of a deletion. Both callbacks are signed_requests under the app secret; a forged
// one is refused. An id that matches nothing still gets a code, whose page says nothing was stored.

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

function confirmationCode(): string {
  return [...randomBytes(12)].map((b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join("");
}

export function metaCallbacksRouter(deps: MetaCallbackDeps): express.Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: "16kb" });

  const verify = (req: express.Request, res: express.Response) => {
    const body = req.body as Record<string, unknown> | undefined;
    const parsed = parseSignedRequest(body?.signed_request, deps.appSecrets);
    if (!parsed.ok) {
      deps.log.warn({ path: req.path, reason: parsed.reason }, "meta callback refused");
      res.status(400).json({ error: "bad_signed_request", detail: parsed.reason });
      return undefined;
    }
    return parsed.userId;
  };

  router.post("/instagram/data-deletion", form, async (req, res) => {
    const userId = verify(req, res);
    if (!userId) return;
    const code = confirmationCode();
    await deps.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        "SELECT 1 FROM instagram_accounts WHERE id = $1 AND status <> 'removed'",
        [userId],
      );
      if (rows.length === 0) {
        await tx.query(
          `INSERT INTO data_requests (code, kind, status, completed_at) VALUES ($1, 'deletion', 'nothing_stored', now())`,
          [code],
        );
        return;
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
    });
    deps.log.info({ code }, "data deletion requested by Meta");
    res.json({ url: `${deps.publicUrl}/privacy/deletion/${code}`, confirmation_code: code });
  });

  router.post("/instagram/deauthorize", form, async (req, res) => {
    const userId = verify(req, res);
    if (!userId) return;
    const rows = await deps.db.transaction(async (tx) => {
      const { rows: revoked } = await tx.query(
        `UPDATE instagram_accounts SET status = 'revoked', token_ciphertext = NULL, token_key_id = NULL, updated_at = now()
          WHERE id = $1 AND status <> 'removed' RETURNING id`,
        [userId],
      );
      if (revoked.length > 0)
        await recordAudit(tx, {
          actor: { kind: "system", id: "meta" },
          account: userId,
          action: "account_deauthorized",
        });
      return revoked;
    });
    if (rows.length > 0) {
      deps.log.warn({ account: userId }, "account deauthorized on Instagram; token removed");
      await deps
        .onDeauthorized(userId)
        .catch((err: unknown) => deps.log.error({ err }, "could not alert the owners"));
    }
    res.json({ ok: true });
  });

  router.get("/privacy/deletion/:code", async (req, res) => {
    const code = req.params.code;
    const { rows } = /^[A-Z0-9]{6,32}$/.test(code)
      ? await deps.db.query<{ status: string; requested_at: Date; completed_at: Date | null }>(
          "SELECT status, requested_at, completed_at FROM data_requests WHERE code = $1",
          [code],
        )
      : { rows: [] };
    const r = rows[0];
    res
      .status(r ? 200 : 404)
      .type("html")
      .send(statusPage(code, r));
  });

  return router;
}

function statusPage(
  code: string,
  r: { status: string; requested_at: Date; completed_at: Date | null } | undefined,
): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = !r
    ? "<p>No deletion request has this confirmation code.</p>"
    : r.status === "pending"
      ? `<p>Received ${new Date(r.requested_at).toISOString()}. The deletion is in progress.</p>`
      : r.status === "completed"
        ? `<p>Completed ${new Date(r.completed_at ?? r.requested_at).toISOString()}: the account's conversations, messages, events and token were deleted.</p>`
        : `<p>Received ${new Date(r.requested_at).toISOString()}. Nothing was stored about this account, so there was nothing to delete.</p>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Data deletion ${esc(code)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; line-height: 1.5">
<h1>Data deletion request</h1><p>Confirmation code: <strong>${esc(code)}</strong></p>${body}</body></html>`;
}
