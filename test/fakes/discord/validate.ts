// Discord's request limits and the small answer shapes REST handlers share: message validation
// (content, embeds, components, files), names, forum tags, 429 answers and body parsing.

import { asString, embedTextLength, type FakeChannel, formError, isObject, type Json } from "./model.ts";
import type { RecordedFile } from "./state.ts";

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const ok = (body: unknown, status = 200): Answer => ({ status, body });

export interface MessageInput {
  content?: string;
  embeds?: Json[];
  components?: Json[];
  flags?: number;
  replyTo?: string;
  attachments?: Array<{ filename: string; contentType: string; data: Buffer; description?: string }>;
}

/** Discord's limits on one embed's parts (the 6,000 total is checked over all of a message's). */
function embedError(embed: Json, i: number): Json | undefined {
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  const tooLong = (field: string, max: number) =>
    formError(`embeds.${i}.${field}`, "BASE_TYPE_MAX_LENGTH", `Must be ${max} or fewer in length.`);
  if (text(embed.title).length > 256) return tooLong("title", 256);
  if (text(embed.description).length > 4096) return tooLong("description", 4096);
  if (isObject(embed.footer) && text(embed.footer.text).length > 2048) return tooLong("footer.text", 2048);
  if (isObject(embed.author) && text(embed.author.name).length > 256) return tooLong("author.name", 256);
  if (!Array.isArray(embed.fields)) return undefined;
  if (embed.fields.length > 25) return tooLong("fields", 25);
  for (const [j, field] of embed.fields.entries()) {
    const name = isObject(field) ? text(field.name) : "";
    const value = isObject(field) ? text(field.value) : "";
    if (name.length === 0 || name.length > 256)
      return formError(
        `embeds.${i}.fields.${j}.name`,
        "BASE_TYPE_BAD_LENGTH",
        "Must be between 1 and 256 in length.",
      );
    if (value.length === 0 || value.length > 1024)
      return formError(
        `embeds.${i}.fields.${j}.value`,
        "BASE_TYPE_BAD_LENGTH",
        "Must be between 1 and 1024 in length.",
      );
  }
  return undefined;
}

/** The description a multipart file `files[n]` gets from the `attachments` entry with id n. */
function fileDescription(b: Json, field: string): string | undefined {
  const index = /^files\[(\d+)\]$/.exec(field)?.[1];
  const listed = Array.isArray(b.attachments) ? b.attachments.filter(isObject) : [];
  const entry = listed.find((a) => asString(a.id) === index);
  return entry ? asString(entry.description) : undefined;
}

/** Checks Discord's message limits; `create` also refuses an empty message. */
export function messageInput(
  c: { body: Json; files: RecordedFile[] },
  create: boolean,
): MessageInput | { error: Json } {
  const b = c.body;
  const out: MessageInput = {};
  if (b.content !== undefined && b.content !== null) {
    const content = asString(b.content) ?? "";
    if (content.length > 2000) {
      return { error: formError("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.") };
    }
    out.content = content;
  }
  if (Array.isArray(b.embeds)) {
    const embeds = b.embeds.filter(isObject);
    if (embeds.length > 10) {
      return { error: formError("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.") };
    }
    for (const [i, embed] of embeds.entries()) {
      const error = embedError(embed, i);
      if (error) return { error };
    }
    const total = embeds.reduce((sum, e) => sum + embedTextLength(e), 0);
    if (total > 6000) {
      return {
        error: formError("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"),
      };
    }
    out.embeds = embeds;
  }
  if (Array.isArray(b.components)) {
    if (b.components.length > 5 && !(typeof b.flags === "number" && b.flags & (1 << 15))) {
      return { error: formError("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.") };
    }
    const rowError = typeof b.flags === "number" && b.flags & (1 << 15) ? undefined : rowsError(b.components);
    if (rowError) return { error: rowError };
    out.components = b.components.filter(isObject);
  }
  if (typeof b.flags === "number") out.flags = b.flags;
  const ref = b.message_reference;
  if (isObject(ref) && ref.message_id !== undefined) out.replyTo = asString(ref.message_id) ?? "";
  if (c.files.length > 0) {
    const tooBig = c.files.find((f) => f.data.length > 10 * 1024 * 1024);
    if (tooBig) return { error: { code: 40005, message: "Request entity too large" } };
    const described = c.files.map((f) => fileDescription(b, f.field));
    if (described.some((d) => d !== undefined && d.length > 1024))
      return { error: formError("attachments", "BASE_TYPE_MAX_LENGTH", "Must be 1024 or fewer in length.") };
    out.attachments = c.files.map((f, i) => {
      const description = described[i];
      return {
        filename: f.filename,
        contentType: f.contentType,
        data: f.data,
        ...(description !== undefined ? { description } : {}),
      };
    });
  }
  const empty = !out.content && !out.embeds?.length && !out.attachments?.length && !out.components?.length;
  if (create && empty && !Array.isArray(b.sticker_ids) && !isObject(b.poll)) {
    return { error: { code: 50006, message: "Cannot send an empty message" } };
  }
  return out;
}

const SELECT_TYPES = new Set([3, 5, 6, 7, 8]);

/** Action rows as Discord checks them: each a row (type 1) of 1–5 buttons or of one select menu
 * alone, custom_ids at most 100 characters and unique in the message, a string select with 1–25
 * options. */
function rowsError(rows: unknown[]): Json | undefined {
  const ids = new Set<string>();
  for (const [i, row] of rows.entries()) {
    const where = `components.${i}.components`;
    if (!isObject(row) || row.type !== 1 || !Array.isArray(row.components))
      return formError(`components.${i}`, "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1,).');
    const items = row.components.filter(isObject);
    const selects = items.filter((c) => typeof c.type === "number" && SELECT_TYPES.has(c.type));
    if (items.length === 0 || items.length > 5 || (selects.length > 0 && items.length > 1))
      return formError(
        where,
        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
        "The specified component exceeds the maximum width",
      );
    for (const c of items) {
      const id = asString(c.custom_id);
      if (id === undefined) continue;
      if (id.length > 100)
        return formError(
          `${where}.custom_id`,
          "BASE_TYPE_BAD_LENGTH",
          "Must be between 1 and 100 in length.",
        );
      if (ids.has(id))
        return formError(
          `${where}.custom_id`,
          "COMPONENT_CUSTOM_ID_DUPLICATED",
          "Component custom id cannot be duplicated",
        );
      ids.add(id);
      if (c.type === 3 && (!Array.isArray(c.options) || c.options.length < 1 || c.options.length > 25))
        return formError(`${where}.options`, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 25 in length.");
    }
  }
  return undefined;
}

export function threadNameError(name: string): Json | undefined {
  if (name.length >= 1 && name.length <= 100) return undefined;
  return formError("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
}

export function forumTagsError(parent: FakeChannel, tags: string[]): Json | undefined {
  if (tags.length > 5)
    return formError("applied_tags", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.");
  const unknown = tags.find((t) => !parent.availableTags.some((a) => a.id === t));
  return unknown ? formError("applied_tags", "TAG_INVALID", `Unknown tag ${unknown}`) : undefined;
}

// Discord refuses these substrings in webhook names and per-message username overrides alike.
export function webhookNameError(name: string, field: string): Json | undefined {
  if (name.length < 1 || name.length > 80) {
    return formError(field, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.");
  }
  const lower = name.toLowerCase();
  for (const word of ["discord", "clyde"]) {
    if (lower.includes(word)) {
      return formError(field, "USERNAME_INVALID_CONTAINS", `Username cannot contain "${word}"`);
    }
  }
  return undefined;
}

export function prefixErrors(error: Json, field: string): Json {
  if (!isObject(error.errors)) return error;
  return { ...error, errors: { [field]: error.errors } };
}

export function autoArchive(body: Json): { autoArchiveDuration?: number } {
  return typeof body.auto_archive_duration === "number"
    ? { autoArchiveDuration: body.auto_archive_duration }
    : {};
}

export function commandJson(
  applicationId: string,
  cmd: { id: string; guildId: string | null; body: Json },
): Json {
  return {
    type: 1,
    description: "",
    options: [],
    default_member_permissions: null,
    nsfw: false,
    ...cmd.body,
    id: cmd.id,
    application_id: applicationId,
    version: cmd.id,
    ...(cmd.guildId ? { guild_id: cmd.guildId } : {}),
  };
}

export function guildUnknown(): Answer {
  return ok({ code: 10004, message: "Unknown Guild" }, 404);
}

export function tooMany(retryAfterMs: number, bucket: string, shared: boolean, limit = 1): Answer {
  const seconds = retryAfterMs / 1000;
  return {
    status: 429,
    body: { message: "You are being rate limited.", retry_after: seconds, global: false },
    // Retry-After is fractional (Discord sends whole seconds) so tests don't wait a second per 429.
    headers: {
      "retry-after": String(seconds),
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": String((Date.now() + retryAfterMs) / 1000),
      "x-ratelimit-reset-after": String(seconds),
      "x-ratelimit-bucket": bucket,
      "x-ratelimit-scope": shared ? "shared" : "user",
    },
  };
}

export async function parseBody(
  raw: Buffer,
  contentType: string,
): Promise<{ body: Json; files: RecordedFile[]; raw: unknown }> {
  if (raw.length === 0) return { body: {}, files: [], raw: undefined };
  if (contentType.startsWith("multipart/form-data")) {
    const form = await new Response(new Uint8Array(raw), {
      headers: { "content-type": contentType },
    }).formData();
    let payload: unknown;
    const files: RecordedFile[] = [];
    for (const [field, value] of form.entries()) {
      if (typeof value === "string") {
        if (field === "payload_json") payload = JSON.parse(value);
        continue;
      }
      files.push({
        field,
        filename: value.name,
        contentType: value.type || "application/octet-stream",
        data: Buffer.from(await value.arrayBuffer()),
      });
    }
    return { body: isObject(payload) ? payload : {}, files, raw: payload };
  }
  const parsed: unknown = JSON.parse(raw.toString("utf8"));
  return { body: isObject(parsed) ? parsed : {}, files: [], raw: parsed };
}
