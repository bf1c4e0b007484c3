import type { SqlClient } from "../db/database.ts";

// "Who is speaking" for automation (issue 21). Meta asks automated chats to say so where the law
// requires it (California, Germany): at the start of a conversation, after a significant lapse,
// and when the conversation passes from a human to automation (reference: platform-changes-2026).
// Every automated message the service sends (rules' replies, and any later automation) goes
// through `discloseIfDue`, which appends the account's disclosure line when one of those holds
// and remembers when it did on the conversation (or comment thread) row, in the same transaction
// as the message, so a restart neither repeats nor forgets it.

export const DEFAULT_DISCLOSURE = "This is an automated message.";
export const DEFAULT_DISCLOSURE_LAPSE_MINUTES = 24 * 60;
/** The key of the text used when no language matches. */
export const DEFAULT_LANGUAGE_KEY = "default";

export interface DisclosureSettings {
  /** Language tag (`es`, `pt-BR`) or "default" → the line to append. */
  texts: Readonly<Record<string, string>>;
  /** A disclosure older than this is repeated. */
  lapseMinutes: number;
}

/** The account's settings (`instagram_accounts.settings.disclosure`), defaults filled in. */
export function disclosureSettings(raw: unknown): DisclosureSettings {
  const d =
    typeof raw === "object" && raw !== null && "disclosure" in raw
      ? (raw as { disclosure: unknown }).disclosure
      : undefined;
  const texts: Record<string, string> = {};
  let lapseMinutes = DEFAULT_DISCLOSURE_LAPSE_MINUTES;
  if (typeof d === "object" && d !== null) {
    const t = (d as { texts?: unknown }).texts;
    if (typeof t === "object" && t !== null)
      for (const [k, v] of Object.entries(t))
        if (typeof v === "string" && v.trim() !== "") texts[k] = v.trim();
    const lapse = (d as { lapseMinutes?: unknown }).lapseMinutes;
    if (typeof lapse === "number" && Number.isInteger(lapse) && lapse > 0) lapseMinutes = lapse;
  }
  return { texts, lapseMinutes };
}

/** The line for `language`: its own text, else its base language's (`pt` for `pt-BR`), else the
 * account's default, else English. */
export function disclosureText(settings: DisclosureSettings, language?: string): string {
  const t = settings.texts;
  if (language) {
    const exact =
      t[language] ?? Object.entries(t).find(([k]) => k.toLowerCase() === language.toLowerCase())?.[1];
    if (exact) return exact;
    const base = language.split("-")[0]?.toLowerCase();
    if (base && t[base]) return t[base];
  }
  return t[DEFAULT_LANGUAGE_KEY] ?? DEFAULT_DISCLOSURE;
}

export type DisclosureReason = "first" | "lapse" | "handover";

/** Why a disclosure is due now, or undefined. `lastHumanAt`: the last reply a person sent (from
 * chat or the Instagram app); `lastAutomatedAt`: the last automated message before this one. */
export function disclosureDue(
  facts: {
    lastDisclosureAt: Date | null;
    lastHumanAt: Date | null;
    lastAutomatedAt: Date | null;
    now: Date;
  },
  lapseMinutes: number,
): DisclosureReason | undefined {
  if (!facts.lastDisclosureAt) return "first";
  if (facts.now.getTime() - facts.lastDisclosureAt.getTime() >= lapseMinutes * 60_000) return "lapse";
  if (facts.lastHumanAt && (!facts.lastAutomatedAt || facts.lastHumanAt > facts.lastAutomatedAt))
    return "handover";
  return undefined;
}

/** The message as sent with its disclosure: the text, a blank line, the disclosure line. */
export function withDisclosure(text: string, line: string): string {
  return `${text}\n\n${line}`;
}

export interface DisclosureTarget {
  table: "conversations" | "comment_threads";
  id: number;
}

/**
 * Inside the transaction that stores an automated message for `target`: whether it must carry
 * the disclosure, and if so, records that it does (the row is locked, so two automations of one
 * conversation cannot both decide "first"). Call it before storing the message.
 */
export async function discloseIfDue(
  tx: SqlClient,
  target: DisclosureTarget,
  lapseMinutes: number,
  now: Date,
): Promise<DisclosureReason | undefined> {
  const column = target.table === "conversations" ? "conversation_id" : "comment_thread_id";
  const { rows } = await tx.query<{ last_disclosure_at: Date | null }>(
    `SELECT last_disclosure_at FROM ${target.table} WHERE id = $1 FOR UPDATE`,
    [target.id],
  );
  if (rows.length === 0) return undefined;
  const { rows: last } = await tx.query<{ human: Date | null; automated: Date | null }>(
    // A reply that failed never reached the customer: it neither spoke nor handed over.
    `SELECT max(occurred_at) FILTER (WHERE author_kind IN ('agent', 'business')) AS human,
            max(occurred_at) FILTER (WHERE author_kind = 'rule') AS automated
       FROM messages WHERE ${column} = $1 AND direction = 'outbound'
        AND delivery_state IS DISTINCT FROM 'failed'`,
    [target.id],
  );
  const reason = disclosureDue(
    {
      lastDisclosureAt: toDate(rows[0]?.last_disclosure_at),
      lastHumanAt: toDate(last[0]?.human),
      lastAutomatedAt: toDate(last[0]?.automated),
      now,
    },
    lapseMinutes,
  );
  if (reason)
    await tx.query(`UPDATE ${target.table} SET last_disclosure_at = $2 WHERE id = $1`, [
      target.id,
      now.toISOString(),
    ]);
  return reason;
}

function toDate(v: Date | string | null | undefined): Date | null {
  return v ? new Date(v) : null;
}
