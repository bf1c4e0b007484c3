// Conversation Routing: which app holds a customer's thread on Instagram, as agents read it. The
// bridge records the holder per conversation (mirror/record.ts) from handover events and from
// messages delivered on `standby`; the sender holds replies while another app has it.

/** The inbox Meta's own apps answer from (Meta Business Suite / the Instagram app's inbox): the
 * handover protocol's Page inbox id, which Meta's docs give for passing a thread to the inbox.
 * UNCERTAIN for Instagram Login (the reference does not list it): it is only used to name the
 * holder and as the target of `!control inbox`. */
export const INSTAGRAM_INBOX_APP_ID = "263902037430900";

/** Names of well-known apps by id, for the root; operators add their own (IG_APP_NAMES). */
const KNOWN_APPS: ReadonlyMap<string, string> = new Map([[INSTAGRAM_INBOX_APP_ID, "the Instagram inbox"]]);

/** `controlled_by` → how a root names the holder: a configured or known name, else "another app". */
export function holderName(controlledBy: string, names: ReadonlyMap<string, string> = new Map()): string {
  const named = names.get(controlledBy) ?? KNOWN_APPS.get(controlledBy);
  if (named) return named;
  return controlledBy === "unknown" ? "another app" : `another app (id ${controlledBy})`;
}

/** `IG_APP_NAMES` ("1234=ManyChat,5678=Inrō") as a map. Malformed pairs are the config's to refuse. */
export function parseAppNames(value: string | undefined): Map<string, string> {
  const names = new Map<string, string>();
  for (const pair of (value ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at < 1) continue;
    const id = pair.slice(0, at).trim();
    const name = pair.slice(at + 1).trim();
    if (/^\d+$/.test(id) && name) names.set(id, name);
  }
  return names;
}
