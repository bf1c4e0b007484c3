import type { SqlClient } from "../db/database.ts";
import type { GenericElement } from "../instagram/graph-client.ts";
import type { RenderedSnippet, RuleSnippets } from "../rules/engine.ts";
import { MAX_CARD_TITLE, type SnippetCard } from "./snippet.ts";
import { findSnippet, type StoredSnippet } from "./store.ts";
import { expand, type TemplateValues } from "./template.ts";

// What a saved reply's variables stand for in one conversation, and saved replies as rules send
// them (the brand is the one speaking there, so `{agent}` is the account).

/** The account's username, as `{account}` shows it (without the @). */
export async function accountName(sql: SqlClient, account: string): Promise<string | undefined> {
  const { rows } = await sql.query<{ username: string | null }>(
    "SELECT username FROM instagram_accounts WHERE id = $1",
    [account],
  );
  return rows[0]?.username ?? undefined;
}

/** The customer of a DM conversation or of a comment thread: first name and username. */
export async function customerValues(
  sql: SqlClient,
  thread: { kind: "dm"; id: number } | { kind: "comment"; id: number },
): Promise<Pick<TemplateValues, "first_name" | "username">> {
  if (thread.kind === "dm") {
    const { rows } = await sql.query<{ profile: { name?: string; username?: string } | null }>(
      "SELECT profile FROM conversations WHERE id = $1",
      [thread.id],
    );
    const profile = rows[0]?.profile;
    const first = profile?.name?.trim().split(/\s+/)[0];
    return {
      ...(first ? { first_name: first } : {}),
      ...(profile?.username ? { username: profile.username } : {}),
    };
  }
  const { rows } = await sql.query<{ author_username: string | null }>(
    "SELECT author_username FROM comment_threads WHERE id = $1",
    [thread.id],
  );
  const username = rows[0]?.author_username;
  return username ? { username } : {};
}

/** A card line as sent: variables filled in, cut to Instagram's limit, since a long name can push a
 * title that fits as written over it. */
function cardLine(text: string, values: TemplateValues): string {
  const chars = [...expand(text, values)];
  return chars.length > MAX_CARD_TITLE ? `${chars.slice(0, MAX_CARD_TITLE - 1).join("")}…` : chars.join("");
}

/** A saved reply's cards as the Send API's generic template elements (reference 2.8). */
export function cardsForSend(cards: readonly SnippetCard[], values: TemplateValues): GenericElement[] {
  return cards.map((c) => {
    const e: GenericElement = { title: cardLine(c.title, values) };
    if (c.subtitle !== undefined) e.subtitle = cardLine(c.subtitle, values);
    if (c.imageUrl !== undefined) e.image_url = c.imageUrl;
    if (c.url !== undefined) e.default_action = { type: "web_url", url: c.url };
    if (c.buttons?.length)
      e.buttons = c.buttons.map((b) =>
        "url" in b
          ? { type: "web_url" as const, url: b.url, title: b.title }
          : { type: "postback" as const, title: b.title, payload: b.payload },
      );
    return e;
  });
}

export function renderSnippet(snippet: StoredSnippet, values: TemplateValues): RenderedSnippet {
  const out: RenderedSnippet = {
    text: expand(snippet.text, values),
    urlAttachments: snippet.attachments,
    quickReplies: snippet.quickReplies,
    cards: cardsForSend(snippet.cards ?? [], values),
  };
  if (snippet.language) out.language = snippet.language;
  return out;
}

/** Saved replies for the rules engine: the account's own or the shared one, `{agent}` being the
 * brand. */
export const ruleSnippets: RuleSnippets = {
  async render(sql, account, name, fields) {
    const snippet = await findSnippet(sql, account, name);
    if (!snippet) return undefined;
    const brand = await accountName(sql, account);
    return renderSnippet(snippet, {
      ...fields,
      ...(brand ? { account: brand, agent: brand } : {}),
    });
  },
};
