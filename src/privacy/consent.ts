import { recordAudit } from "../audit/audit-log.ts";
import type { SqlClient } from "../db/database.ts";
import type { DmMessage } from "../instagram/events.ts";

// Customers opt out by writing STOP (or its equivalent in their language) and back in with START.
// The words are whole messages, not parts of one: "stop by the shop" is not an opt-out. Revoked
// consent means no automated message ever (the rules refuse it), a banner on the thread, and
// agents asked to confirm before replying.

export interface ConsentWords {
  stop: ReadonlySet<string>;
  start: ReadonlySet<string>;
}

export const DEFAULT_CONSENT_WORDS: ConsentWords = {
  stop: new Set([
    "stop",
    "stopp",
    "unsubscribe",
    "arrêt",
    "arret",
    "alto",
    "basta",
    "parar",
    "cancelar",
    "abmelden",
  ]),
  start: new Set(["start", "unstop", "subscribe", "anmelden", "empezar", "iniciar", "démarrer", "demarrer"]),
};

export function consentWords(stop: string[] | undefined, start: string[] | undefined): ConsentWords {
  const norm = (words: string[]) => new Set(words.map(normalise).filter((w) => w !== ""));
  return {
    stop: stop ? norm(stop) : DEFAULT_CONSENT_WORDS.stop,
    start: start ? norm(start) : DEFAULT_CONSENT_WORDS.start,
  };
}

function normalise(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[.!?¡¿\s]+$/u, "")
    .replace(/^[¡¿\s]+/u, "");
}

/** The consent a message asks for, if it is one of the words. */
export function consentRequest(
  text: string | undefined,
  words: ConsentWords,
): "revoked" | "granted" | undefined {
  if (!text) return undefined;
  const t = normalise(text);
  if (words.stop.has(t)) return "revoked";
  if (words.start.has(t)) return "granted";
  return undefined;
}

/** Applies a STOP / START message inside the recording transaction, audited. */
export async function applyConsentMessage(tx: SqlClient, e: DmMessage, words: ConsentWords): Promise<void> {
  const wanted = consentRequest(e.text, words);
  if (!wanted) return;
  const { rows } = await tx.query(
    `UPDATE conversations SET consent = $3, updated_at = now()
      WHERE account_id = $1 AND customer_id = $2 AND consent IS DISTINCT FROM $3 RETURNING id`,
    [e.accountId, e.customerId, wanted],
  );
  if (rows.length === 0) return;
  await recordAudit(tx, {
    actor: { kind: "customer", id: e.customerId },
    account: e.accountId,
    action: "consent_changed",
    target: `customer:${e.customerId}`,
    details: { consent: wanted, via: "keyword", mid: e.mid },
  });
}

/** Sets a customer's consent on an agent's word (`/ig consent`), audited. False if unknown. */
export async function setConsent(
  tx: SqlClient,
  account: string,
  customer: string,
  consent: "granted" | "revoked",
  by: string,
): Promise<boolean> {
  const { rows } = await tx.query(
    "UPDATE conversations SET consent = $3, updated_at = now() WHERE account_id = $1 AND customer_id = $2 RETURNING id",
    [account, customer, consent],
  );
  if (rows.length === 0) return false;
  await recordAudit(tx, {
    actor: { kind: "agent", id: by },
    account,
    action: "consent_changed",
    target: `customer:${customer}`,
    details: { consent, via: "command" },
  });
  return true;
}
