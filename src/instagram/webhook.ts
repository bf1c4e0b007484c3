// Turns one Instagram webhook body (Instagram API with Instagram Login) into typed domain events.
// Section numbers (§1.x) refer to the API reference the project was built from (shared/reference/instagram-api.md).
//
// Contract: never throws. A malformed envelope (something we cannot even route) rejects the body;
// a malformed item inside a good envelope becomes an UnknownEvent plus a warning, so one bad item
// never costs us the other events of a batch (§1.4: Meta batches up to 1000 updates).

import { createHash } from "node:crypto";
import { z } from "zod";
import type {
  Attachment,
  AttachmentKind,
  CommentEvent,
  CommentMedia,
  CommentRemovedEvent,
  DmEvent,
  InboundRecord,
  Referral,
  ReplyTo,
  TemplateButton,
  TemplateContent,
  TemplateElement,
  UnknownEvent,
} from "./events.ts";

export type ParseResult =
  | { ok: true; records: InboundRecord[]; warnings: string[] }
  | { ok: false; reason: string };

const MAX_REASON = 280;
const MAX_NAME = 60;

// ---------------------------------------------------------------------------------------------
// Schemas, built once: this runs on the hot path.

/** Ids are numeric strings; a JSON number (precision already lost or not) is still accepted. */
const id = z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.string().min(1));
/** An account (entry) id: Instagram's ids are digits, and this one becomes a primary key. */
const accountId = z.preprocess(
  (v) => (typeof v === "number" ? String(v) : v),
  z.string().regex(/^\d{1,32}$/, { message: "expected the account's numeric id" }),
);
/** `num_edit` is a string placeholder in the docs and an integer in Messenger's (§1.7). */
const count = z.preprocess(
  (v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v),
  z.number().int().nonnegative(),
);
/** Epoch time in s or ms; the dashboard Test payload sends it as a string (§1.4). Bounded to a
 * real calendar date (before year 10000): a time a database cannot store would make the whole
 * delivery fail to store, and Meta would redeliver it forever. */
const epoch = z.preprocess(
  (v) => (typeof v === "string" && /^\d{1,16}(\.\d+)?$/.test(v) ? Number(v) : v),
  z
    .number()
    .nonnegative()
    .refine((t) => toMs(t) < 253_402_300_800_000, { message: "is not a date before the year 10000" }),
);
const itemList = z.array(z.unknown()).optional();
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
/** Passes the object through untouched (no copy, so `raw` and the event share it). */
const record = z.custom<Record<string, unknown>>(isRecord, { message: "expected an object" });

const entrySchema = z.object({
  id: accountId,
  time: epoch,
  messaging: itemList,
  standby: itemList,
  changes: itemList,
  // §1.5: the IG-Login comment example puts field/value on the entry itself (doc typo).
  field: z.string().min(1).optional(),
  value: z.unknown().optional(),
});
const envelopeSchema = z.object({ object: z.literal("instagram"), entry: z.array(entrySchema).min(1) });

const participant = z.object({ id });
const messagingItemSchema = z.object({
  sender: participant,
  recipient: participant,
  // A bad timestamp is not worth losing the event for: fall back to entry.time.
  timestamp: epoch.optional().catch(undefined),
  is_self: z.boolean().optional().catch(undefined),
});
const changeSchema = z.object({ field: z.string().min(1), value: z.unknown().optional() });

const referralSchema = z.object({
  ref: z.string().optional(),
  source: z.string().optional(),
  type: z.string().optional(),
  ad_id: id.optional(),
  ads_context_data: record.optional(),
  product: z.object({ id }).optional().catch(undefined),
});
const replyToSchema = z.object({
  mid: id.optional(),
  story: z.object({ id, url: z.string().optional() }).optional(),
});
const messageSchema = z.object({
  mid: id,
  text: z.string().optional(),
  attachments: itemList,
  is_echo: z.boolean().optional(),
  is_deleted: z.boolean().optional(),
  is_self: z.boolean().optional(),
  is_unsupported: z.boolean().optional(),
  quick_reply: z.object({ payload: z.string() }).optional(),
  reply_to: replyToSchema.optional(),
  referral: referralSchema.optional(),
});

// Attachment payloads vary by type and Meta adds types without notice (§1.6 b): every payload
// field is optional and a wrongly typed one is dropped rather than failing the message.
const optText = z.string().optional().catch(undefined);
const optId = id.optional().catch(undefined);
const attachmentSchema = z.object({
  type: z.string(),
  // A fallback's title and link sat beside its payload before Messenger webhooks v6.0.
  title: optText,
  url: optText,
  payload: z
    .object({
      url: optText,
      title: optText,
      story_media_url: optText,
      ig_post_media_id: optId,
      reel_video_id: optId,
      story_media_id: optId,
      sticker_id: count.optional().catch(undefined),
    })
    .nullish()
    .catch(undefined),
});

const editSchema = z.object({ mid: id, text: z.string(), num_edit: count });
const reactionSchema = z.object({
  mid: id,
  action: z.enum(["react", "unreact"]),
  reaction: z.string().optional(),
  emoji: z.string().optional(),
});
const readSchema = z.object({ mid: id });
// Handover / Conversation Routing items: every id optional (the routing API renamed none of them
// as far as the reference knows, but a missing one must not cost the event).
const controlSchema = z.object({
  new_owner_app_id: id.optional().catch(undefined),
  previous_owner_app_id: id.optional().catch(undefined),
  requested_owner_app_id: id.optional().catch(undefined),
  metadata: z.string().optional().catch(undefined),
});
const CONTROL_ACTIONS = {
  pass_thread_control: "pass",
  take_thread_control: "take",
  request_thread_control: "request",
} as const;
// §1.10: the ice-breaker example has no `mid`.
const postbackSchema = z.object({ mid: id.optional(), title: z.string().optional(), payload: z.string() });

const commentFromSchema = z.object({ id, username: z.string().optional(), self_ig_scoped_id: id.optional() });
const commentMediaSchema = z.object({
  id,
  media_product_type: z.string().optional(),
  ad_id: id.optional(),
  ad_title: z.string().optional(),
  original_media_id: id.optional(),
});
const commentSchema = z.object({
  id: id.optional(),
  comment_id: id.optional(), // FB-Login spelling (§1.13)
  parent_id: id.optional(),
  text: z.string().optional(),
  from: commentFromSchema,
  media: commentMediaSchema,
});
// A live comment may come without its author: it is still shown, as a viewer Instagram did not name.
const liveCommentSchema = commentSchema.extend({ from: commentFromSchema.optional() });
// A removal names the comment; what else it carries is not documented, so everything else is optional.
const commentRemovalSchema = z.object({
  id: id.optional(),
  comment_id: id.optional(),
  parent_id: id.optional(),
  from: commentFromSchema.optional(),
  media: commentMediaSchema.optional(),
});
const mentionSchema = z.object({ media_id: id, comment_id: id.optional() });

// ---------------------------------------------------------------------------------------------
// Lookup tables.

const ATTACHMENT_KINDS: ReadonlyMap<string, AttachmentKind> = new Map<string, AttachmentKind>([
  ["image", "image"],
  ["video", "video"],
  ["audio", "audio"],
  ["file", "file"],
  ["share", "share"],
  ["ig_post", "ig_post"],
  ["ig_reel", "ig_reel"],
  ["reel", "reel"],
  ["story_mention", "story_mention"],
  ["ig_story", "ig_story"],
  ["story", "story"],
  ["media", "media"],
  ["template", "template"],
  ["fallback", "fallback"],
  ["like_heart", "like_heart"],
  ["unsupported_type", "unsupported"],
]);

/** §1.5 dispatch order for one messaging item. */
const DM_KEYS = [
  "message",
  "message_edit",
  "reaction",
  "read",
  "postback",
  "referral",
  "optin",
  "pass_thread_control",
  "take_thread_control",
  "request_thread_control",
] as const;
type DmKey = (typeof DM_KEYS)[number];
/** Keys every messaging item carries; anything else names the event. */
const ITEM_FRAME_KEYS = new Set(["sender", "recipient", "timestamp", "is_self"]);

/**
 * `changes[]` fields whose value is a messaging item: the dashboard "Test" button sends DMs this
 * way (§1.4), and the IG-Login field names are those of §1.15.
 */
const MESSAGING_FIELDS = new Set([
  "messages",
  "message_echoes",
  "message_edit",
  "message_edits",
  "message_reactions",
  "messaging_seen",
  "messaging_postbacks",
  "messaging_referral",
  "messaging_optins",
  "messaging_handover",
  "standby",
]);

// ---------------------------------------------------------------------------------------------
// Entry point.

/** Thrown internally for envelope-level problems; never escapes parseWebhook. */
class EnvelopeError extends Error {}

export function parseWebhook(body: unknown): ParseResult {
  try {
    return parseBody(body);
  } catch (err) {
    if (err instanceof EnvelopeError) return { ok: false, reason: clip(err.message) };
    // Only the error's class: its message could quote the payload.
    const name = err instanceof Error ? err.name : typeof err;
    return { ok: false, reason: `internal parser error (${clip(name, MAX_NAME)})` };
  }
}

interface EntryContext {
  accountId: string;
  /** entry.time in ms: the time of items that carry none (changes, §1.4). */
  entryTime: number;
  records: InboundRecord[];
  warnings: string[];
}

function parseBody(body: unknown): ParseResult {
  if (!isRecord(body)) return { ok: false, reason: `body: expected an object, got ${kindOf(body)}` };
  if (body.object === "page") {
    // §1.4: `page` is what a Messenger (Facebook Page) subscription delivers.
    return {
      ok: false,
      reason:
        'object: got "page", which means a Messenger/Facebook Page webhook subscription was configured by mistake; expected "instagram"',
    };
  }
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return { ok: false, reason: describeError("", envelope.error, body) };

  const records: InboundRecord[] = [];
  const warnings: string[] = [];
  envelope.data.entry.forEach((entry, i) => {
    const ctx: EntryContext = { accountId: entry.id, entryTime: toMs(entry.time), records, warnings };
    const at = `entry[${i}]`;
    const before = records.length;
    entry.messaging?.forEach((item, j) => {
      records.push(parseMessagingItem(item, `${at}.messaging[${j}]`, item, false, ctx));
    });
    entry.standby?.forEach((item, j) => {
      records.push(parseMessagingItem(item, `${at}.standby[${j}]`, item, true, ctx));
    });
    entry.changes?.forEach((item, j) => {
      const path = `${at}.changes[${j}]`;
      const change = changeSchema.safeParse(item);
      if (!change.success) throw new EnvelopeError(describeError(path, change.error, item));
      records.push(parseChange(change.data.field, change.data.value, path, item, ctx));
    });
    if (entry.field !== undefined) {
      const raw = { field: entry.field, value: entry.value };
      records.push(parseChange(entry.field, entry.value, at, raw, ctx));
    }
    if (records.length === before) warnings.push(`${at}: no messaging, standby or changes items`);
  });
  return { ok: true, records, warnings };
}

// ---------------------------------------------------------------------------------------------
// Messaging items (§1.5–1.12).

/** Who and when of one messaging item, shared by every DM event it can become. */
interface DmFrame {
  ctx: EntryContext;
  path: string;
  raw: unknown;
  senderId: string;
  recipientId: string;
  occurredAt: number;
  standby: boolean;
  itemSelf: boolean;
}

function parseMessagingItem(
  item: unknown,
  path: string,
  raw: unknown,
  standby: boolean,
  ctx: EntryContext,
): InboundRecord {
  const parsed = messagingItemSchema.safeParse(item);
  // Without sender/recipient we cannot tell whose conversation this is: not routable.
  if (!parsed.success || !isRecord(item)) {
    throw new EnvelopeError(
      parsed.success ? `${path}: expected an object` : describeError(path, parsed.error, item),
    );
  }
  const { sender, recipient, timestamp, is_self } = parsed.data;
  const frame: DmFrame = {
    ctx,
    path,
    raw,
    senderId: sender.id,
    recipientId: recipient.id,
    occurredAt: timestamp === undefined ? ctx.entryTime : toMs(timestamp),
    standby,
    itemSelf: is_self === true,
  };
  const key = DM_KEYS.find((k) => item[k] !== undefined);
  if (key === undefined) {
    const field = Object.keys(item).find((k) => !ITEM_FRAME_KEYS.has(k));
    const reason = field === undefined ? "messaging item carries no event" : "no known messaging event key";
    return unknownRecord(ctx, frame.occurredAt, field, reason, raw);
  }
  return parseDmEvent(key, item[key], frame);
}

function parseDmEvent(key: DmKey, value: unknown, f: DmFrame): InboundRecord {
  switch (key) {
    case "message":
      return parseMessage(value, f);
    case "message_edit": {
      const p = editSchema.safeParse(value);
      if (!p.success) return badItem(f, key, p.error, value);
      const { mid, text, num_edit } = p.data;
      return dmRecord(
        { type: "dm.edit", ...dmBase(f), mid, text, numEdit: num_edit },
        `edit:${mid}:${num_edit}`,
        f,
      );
    }
    case "reaction": {
      const p = reactionSchema.safeParse(value);
      if (!p.success) return badItem(f, key, p.error, value);
      const { mid, action, reaction, emoji } = p.data;
      const byBusiness = f.senderId === f.ctx.accountId ? (true as const) : undefined;
      const event = pruned({
        type: "dm.reaction" as const,
        ...dmBase(f),
        mid,
        action,
        reaction,
        emoji,
        byBusiness,
      });
      return dmRecord(event, `reaction:${mid}:${f.senderId}:${action}:${f.occurredAt}`, f);
    }
    case "read": {
      // §1.9: Instagram sends read.mid, not Messenger's watermark.
      const p = readSchema.safeParse(value);
      if (!p.success) return badItem(f, key, p.error, value);
      return dmRecord(
        { type: "dm.seen", ...dmBase(f), mid: p.data.mid },
        `seen:${p.data.mid}:${f.senderId}`,
        f,
      );
    }
    case "postback": {
      const p = postbackSchema.safeParse(value);
      if (!p.success) return badItem(f, key, p.error, value);
      const { mid, title = "", payload } = p.data;
      const dedupe =
        mid === undefined ? `postback:${f.senderId}:${f.occurredAt}:${payload}` : `postback:${mid}`;
      return dmRecord(pruned({ type: "dm.postback" as const, ...dmBase(f), mid, title, payload }), dedupe, f);
    }
    case "referral": {
      const p = referralSchema.safeParse(value);
      if (!p.success) return badItem(f, key, p.error, value);
      const referral = toReferral(p.data);
      const dedupe = `referral:${f.senderId}:${f.occurredAt}:${referral.ref ?? ""}`;
      return dmRecord({ type: "dm.referral", ...dmBase(f), referral }, dedupe, f);
    }
    case "pass_thread_control":
    case "take_thread_control":
    case "request_thread_control": {
      const p = controlSchema.safeParse(value ?? {});
      if (!p.success) return badItem(f, key, p.error, value);
      const action = CONTROL_ACTIONS[key];
      const event = pruned({
        type: "dm.control" as const,
        ...dmBase(f),
        action,
        newOwnerAppId: p.data.new_owner_app_id,
        previousOwnerAppId: p.data.previous_owner_app_id,
        requestedOwnerAppId: p.data.requested_owner_app_id,
        metadata: p.data.metadata,
      });
      return dmRecord(event, `control:${action}:${event.customerId}:${f.occurredAt}`, f);
    }
    case "optin": {
      const p = record.safeParse(value);
      if (!p.success) return badItem(f, key, p.error, value);
      return dmRecord(
        { type: "dm.optin", ...dmBase(f), optin: p.data },
        `optin:${f.senderId}:${f.occurredAt}`,
        f,
      );
    }
  }
}

function parseMessage(value: unknown, f: DmFrame): InboundRecord {
  const p = messageSchema.safeParse(value);
  if (!p.success) return badItem(f, "message", p.error, value);
  const m = p.data;
  // §1.6 k: an unsend carries only mid + is_deleted.
  if (m.is_deleted === true)
    return dmRecord({ type: "dm.unsend", ...dmBase(f), mid: m.mid }, `unsend:${m.mid}`, f);

  const attachments = parseAttachments(m.attachments, `${f.path}.message.attachments`, f.ctx.warnings);
  const replyTo = toReplyTo(m.reply_to);
  if (m.is_echo === true) {
    // §0: on an echo the customer is the recipient; is_self marks a message to our own account (§1.6 j).
    const self = m.is_self === true || f.itemSelf ? true : undefined;
    const event = pruned({
      type: "dm.echo" as const,
      ...dmBase(f, true),
      mid: m.mid,
      text: m.text,
      attachments,
      replyTo,
      self,
    });
    return dmRecord(event, `msg:${m.mid}`, f);
  }
  const event = pruned({
    type: "dm.message" as const,
    ...dmBase(f),
    mid: m.mid,
    text: m.text,
    attachments,
    replyTo,
    quickReplyPayload: m.quick_reply?.payload,
    referral: m.referral === undefined ? undefined : toReferral(m.referral),
    unsupported: m.is_unsupported === true ? true : undefined,
  });
  return dmRecord(event, `msg:${m.mid}`, f);
}

/** Common fields of a DM event. */
function dmBase(f: DmFrame, echo = false) {
  // §0: the customer is sender.id inbound and recipient.id on echoes. A non-echo item sent by
  // the account itself (sender == entry.id) still belongs to the recipient's conversation.
  const fromAccount = f.senderId === f.ctx.accountId && f.recipientId !== f.ctx.accountId;
  const customerId = echo || fromAccount ? f.recipientId : f.senderId;
  return pruned({
    accountId: f.ctx.accountId,
    occurredAt: f.occurredAt,
    customerId,
    standby: f.standby ? true : undefined,
  });
}

type ParsedAttachment = z.infer<typeof attachmentSchema>;

function parseAttachments(list: unknown[] | undefined, path: string, warnings: string[]): Attachment[] {
  if (list === undefined) return [];
  const out: Attachment[] = [];
  list.forEach((item, i) => {
    const p = attachmentSchema.safeParse(item);
    if (p.success) out.push(toAttachment(p.data, isRecord(item) ? item.payload : undefined));
    else warnings.push(clip(`${describeError(`${path}[${i}]`, p.error, item)}; attachment dropped`));
  });
  return dropLegacyShares(out);
}

function toAttachment(
  { type, payload, title, url: outerUrl }: ParsedAttachment,
  rawPayload: unknown,
): Attachment {
  const kind = ATTACHMENT_KINDS.get(type) ?? "other";
  // §1.6 e: a shared story links through story_media_url, not url.
  const url = kind === "ig_story" ? (payload?.story_media_url ?? payload?.url) : (payload?.url ?? outerUrl);
  return pruned({
    kind,
    rawType: type,
    url,
    title: payload?.title ?? title,
    mediaId: payload?.ig_post_media_id ?? payload?.reel_video_id ?? payload?.story_media_id,
    stickerId: payload?.sticker_id,
    template: kind === "template" ? toTemplate(rawPayload) : undefined,
  });
}

// Templates: Meta's generic/button/media shapes (`template_type`, `elements`, `buttons`), a product
// share (`product.elements`, Messenger's product-template webhook) and the `generic.elements`
// wrapping some echoes use. Read field by field: whatever is malformed is left out, never fatal.
// Bounded like Meta's own limits (10 elements, 3 buttons each) so a payload cannot make a post grow.
const MAX_ELEMENTS = 10;
const MAX_BUTTONS = 3;
const MAX_FIELD = 640;
const MAX_URL = 2000;
const textOf = (v: unknown, max = MAX_FIELD) =>
  typeof v === "string" && v !== "" ? clip(v, max) : undefined;
const idOf = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? String(v) : textOf(v, MAX_NAME));
/** Only web links: a `javascript:` or other scheme never reaches a chat message. */
const urlOf = (v: unknown) => {
  const u = textOf(v, MAX_URL);
  return u && /^https?:\/\//i.test(u) ? u : undefined;
};
const listOf = (v: unknown, max: number): Record<string, unknown>[] =>
  Array.isArray(v) ? v.filter(isRecord).slice(0, max) : [];

function toButtons(v: unknown): TemplateButton[] | undefined {
  const buttons = listOf(v, MAX_BUTTONS).map((b) =>
    pruned({
      type: textOf(b.type, MAX_NAME),
      title: textOf(b.title),
      url: urlOf(b.url),
      payload: textOf(b.payload),
    }),
  );
  return buttons.length > 0 ? buttons : undefined;
}

function toElement(e: Record<string, unknown>): TemplateElement {
  const action = isRecord(e.default_action) ? e.default_action : undefined;
  return pruned({
    title: textOf(e.title),
    subtitle: textOf(e.subtitle),
    imageUrl: urlOf(e.image_url),
    url: urlOf(e.url) ?? urlOf(e.item_url) ?? urlOf(action?.url),
    productId: idOf(e.id),
    retailerId: idOf(e.retailer_id),
    buttons: toButtons(e.buttons),
  });
}

function toTemplate(raw: unknown): TemplateContent | undefined {
  if (!isRecord(raw)) return undefined;
  const product = isRecord(raw.product) ? raw.product : undefined;
  const generic = isRecord(raw.generic) ? raw.generic : undefined;
  const source = product?.elements ?? generic?.elements ?? raw.elements;
  const elements = listOf(source, MAX_ELEMENTS).map(toElement);
  return pruned({
    templateType:
      textOf(raw.template_type, MAX_NAME) ?? (product ? "product" : generic ? "generic" : undefined),
    text: textOf(raw.text),
    elements,
    buttons: toButtons(raw.buttons),
  });
}

/** §1.6 c: during the transition a shared post arrives as both `share` and `ig_post`; keep `ig_post`. */
function dropLegacyShares(attachments: Attachment[]): Attachment[] {
  const seen = new Set<string>();
  for (const a of attachments) {
    if (a.kind !== "ig_post") continue;
    if (a.mediaId !== undefined) seen.add(`id:${a.mediaId}`);
    if (a.url !== undefined) seen.add(`url:${a.url}`);
  }
  if (seen.size === 0) return attachments;
  return attachments.filter(
    (a) => a.kind !== "share" || !(seen.has(`id:${a.mediaId}`) || seen.has(`url:${a.url}`)),
  );
}

function toReplyTo(r: z.infer<typeof replyToSchema> | undefined): ReplyTo | undefined {
  if (r?.story !== undefined)
    return pruned({ kind: "story" as const, storyId: r.story.id, url: r.story.url });
  if (r?.mid !== undefined) return { kind: "message", mid: r.mid };
  return undefined;
}

function toReferral(r: z.infer<typeof referralSchema>): Referral {
  // ads_context_data holds ad_title/photo_url/video_url (§1.11); keep only string values.
  const adsContext =
    r.ads_context_data === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(r.ads_context_data).filter((e): e is [string, string] => typeof e[1] === "string"),
        );
  return pruned({
    ref: r.ref,
    source: r.source,
    type: r.type,
    adId: r.ad_id,
    adsContext,
    productId: r.product?.id,
  });
}

// ---------------------------------------------------------------------------------------------
// changes[] items (§1.13, §1.14) and the dashboard Test shape (§1.4).

function parseChange(
  field: string,
  value: unknown,
  path: string,
  raw: unknown,
  ctx: EntryContext,
): InboundRecord {
  const at = ctx.entryTime;
  if (field === "comments" || field === "live_comments") return parseComment(field, value, path, raw, ctx);
  if (field === "mentions") {
    const p = mentionSchema.safeParse(value);
    if (!p.success) return badChange(ctx, path, field, p.error, value, raw);
    const { media_id: mediaId, comment_id: commentId } = p.data;
    const event = pruned({
      type: "mention" as const,
      accountId: ctx.accountId,
      occurredAt: at,
      mediaId,
      commentId,
    });
    return {
      event,
      dedupeKey: `mention:${mediaId}:${commentId ?? ""}`,
      threadKey: `mention:${mediaId}`,
      raw,
    };
  }
  if (MESSAGING_FIELDS.has(field)) {
    // Unlike a messaging[] item, a malformed one here is not an envelope error: older Test
    // payloads used another shape (event_type/event_data) and must not reject the delivery.
    const frame = messagingItemSchema.safeParse(value);
    if (frame.success) return parseMessagingItem(value, `${path}.value`, raw, field === "standby", ctx);
    return badChange(ctx, path, field, frame.error, value, raw);
  }
  return unknownRecord(ctx, at, field, "unsupported changes field", raw);
}

function parseComment(
  field: "comments" | "live_comments",
  value: unknown,
  path: string,
  raw: unknown,
  ctx: EntryContext,
): InboundRecord {
  // Graph change values may say what happened to the object (`verb`); Instagram Login documents
  // none, so a value without one is a new comment, "remove" is best-effort (events.ts), and any
  // other verb is kept as unknown rather than mistaken for a new comment.
  const verb = isRecord(value) ? value.verb : undefined;
  if (verb === "remove") {
    const removal = commentRemovalSchema.safeParse(value);
    if (!removal.success) return badChange(ctx, path, field, removal.error, value, raw);
    const removedId = removal.data.id ?? removal.data.comment_id;
    if (removedId === undefined) return missingCommentId(ctx, path, field, raw);
    return removalRecord(removal.data, removedId, raw, ctx);
  }
  if (verb !== undefined && verb !== "add") {
    const got = typeof verb === "string" ? `"${clip(verb, MAX_NAME)}"` : kindOf(verb);
    const reason = `value.verb: expected "add" or "remove", got ${got}`;
    ctx.warnings.push(`${path}.${reason}`);
    return unknownRecord(ctx, ctx.entryTime, field, reason, raw);
  }
  const p = (field === "live_comments" ? liveCommentSchema : commentSchema).safeParse(value);
  if (!p.success) return badChange(ctx, path, field, p.error, value, raw);
  const c = p.data;
  const commentId = c.id ?? c.comment_id; // FB-Login uses comment_id (§1.13)
  if (commentId === undefined) return missingCommentId(ctx, path, field, raw);
  const event: CommentEvent = pruned({
    type: "comment" as const,
    accountId: ctx.accountId,
    occurredAt: ctx.entryTime,
    commentId,
    parentId: c.parent_id,
    text: c.text,
    from: c.from && pruned({ id: c.from.id, username: c.from.username }),
    media: commentMedia(c.media),
    live: field === "live_comments",
    // §1.13: our own comments and public replies come back too; flag them to avoid loops.
    self: c.from !== undefined && (c.from.id === ctx.accountId || c.from.self_ig_scoped_id !== undefined),
  });
  return {
    event,
    dedupeKey: `comment:${commentId}`,
    threadKey: `comment:${c.parent_id ?? commentId}`,
    raw,
  };
}

function removalRecord(
  c: z.infer<typeof commentRemovalSchema>,
  commentId: string,
  raw: unknown,
  ctx: EntryContext,
): InboundRecord {
  const event: CommentRemovedEvent = pruned({
    type: "comment.removed" as const,
    accountId: ctx.accountId,
    occurredAt: ctx.entryTime,
    commentId,
    parentId: c.parent_id,
    media: c.media && commentMedia(c.media),
    from: c.from && pruned({ id: c.from.id, username: c.from.username }),
  });
  return {
    event,
    dedupeKey: `comment.removed:${commentId}`,
    // With the comment's own stream, so a removal is applied after the comment it removes.
    threadKey: `comment:${c.parent_id ?? commentId}`,
    raw,
  };
}

function commentMedia(m: z.infer<typeof commentMediaSchema>): CommentMedia {
  return pruned({
    id: m.id,
    productType: m.media_product_type,
    adId: m.ad_id,
    adTitle: m.ad_title,
    originalMediaId: m.original_media_id,
  });
}

function missingCommentId(ctx: EntryContext, path: string, field: string, raw: unknown): InboundRecord {
  const reason = "value.id: expected a string (or value.comment_id)";
  ctx.warnings.push(`${path}.${reason}`);
  return unknownRecord(ctx, ctx.entryTime, field, reason, raw);
}

// ---------------------------------------------------------------------------------------------
// Records.

function dmRecord(event: DmEvent, dedupeKey: string, f: DmFrame): InboundRecord {
  return { event, dedupeKey, threadKey: `dm:${event.customerId}`, raw: f.raw };
}

/** A known key whose content does not match its schema: keep it as unknown and say why. */
function badItem(f: DmFrame, key: DmKey, error: z.ZodError, value: unknown): InboundRecord {
  const reason = describeError(key, error, value);
  f.ctx.warnings.push(clip(`${f.path}.${reason}`));
  return unknownRecord(f.ctx, f.occurredAt, key, reason, f.raw);
}

function badChange(
  ctx: EntryContext,
  path: string,
  field: string,
  error: z.ZodError,
  value: unknown,
  raw: unknown,
): InboundRecord {
  const reason = describeError("value", error, value);
  ctx.warnings.push(clip(`${path}.${reason}`));
  return unknownRecord(ctx, ctx.entryTime, field, reason, raw);
}

function unknownRecord(
  ctx: EntryContext,
  occurredAt: number,
  field: string | undefined,
  reason: string,
  raw: unknown,
): InboundRecord {
  const event: UnknownEvent = pruned({
    type: "unknown" as const,
    accountId: ctx.accountId,
    occurredAt,
    field: field === undefined ? undefined : clip(field, MAX_NAME),
    reason: clip(reason),
  });
  const hash = createHash("sha256").update(stableJson(raw)).digest("hex");
  return { event, dedupeKey: `unknown:${hash}`, threadKey: "account", raw };
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/** §1.4: messaging times are ms, changes times are seconds; tell them apart by magnitude. */
function toMs(t: number): number {
  return Math.round(t < 1e12 ? t * 1000 : t);
}

/** Drops undefined properties so events compare and serialise cleanly. */
function pruned<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function clip(s: string, max = MAX_REASON): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** A short, text-free description of the first zod issue, prefixed with its path. */
function describeError(prefix: string, error: z.ZodError, input: unknown): string {
  const issue = error.issues[0];
  if (issue === undefined) return `${prefix || "body"}: invalid`;
  const path = formatPath(prefix, issue.path);
  const got = kindOf(valueAt(input, issue.path));
  switch (issue.code) {
    case "invalid_type":
      return clip(`${path}: expected ${withArticle(issue.expected)}, got ${got}`);
    case "too_small":
      return clip(`${path}: expected a non-empty ${issue.origin}, got an empty one`);
    case "invalid_value":
      return clip(`${path}: expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}`);
    default:
      return clip(`${path}: ${issue.message}`);
  }
}

function formatPath(prefix: string, segments: readonly PropertyKey[]): string {
  let out = prefix;
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else {
      const name = clip(String(s), MAX_NAME);
      out += out === "" ? name : `.${name}`;
    }
  }
  return out === "" ? "body" : out;
}

function valueAt(input: unknown, segments: readonly PropertyKey[]): unknown {
  let v = input;
  for (const s of segments) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[s];
  }
  return v;
}

function kindOf(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return withArticle(typeof v);
}

function withArticle(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

type Task = { value: unknown } | { text: string } | { leave: object };

/**
 * JSON with sorted keys, so equal items hash equally whatever their key order. Iterative, because
 * raw items are attacker-shaped and may nest deeper than the call stack; cycles cannot come from
 * JSON but are cut anyway since the input type is `unknown`.
 */
function stableJson(root: unknown): string {
  const out: string[] = [];
  const open = new Set<object>();
  const stack: Task[] = [{ value: root }];
  for (let task = stack.pop(); task !== undefined; task = stack.pop()) {
    if ("text" in task) out.push(task.text);
    else if ("leave" in task) open.delete(task.leave);
    else serialiseOne(task.value, out, stack, open);
  }
  return out.join("");
}

function serialiseOne(v: unknown, out: string[], stack: Task[], open: Set<object>): void {
  // JSON.stringify escapes lone surrogates, so strings differing only in them hash differently.
  if (typeof v === "string") out.push(JSON.stringify(v));
  else if (typeof v === "number") out.push(Number.isFinite(v) ? String(v) : "null");
  else if (typeof v === "boolean") out.push(String(v));
  else if (typeof v === "bigint") out.push(JSON.stringify(v.toString()));
  else if (typeof v !== "object" || v === null) out.push("null");
  else if (open.has(v)) out.push('"[Circular]"');
  else {
    open.add(v);
    const tasks: Task[] = [];
    if (Array.isArray(v)) {
      tasks.push({ text: "[" });
      v.forEach((el, i) => {
        if (i > 0) tasks.push({ text: "," });
        tasks.push({ value: el });
      });
      tasks.push({ text: "]" });
    } else {
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined && typeof obj[k] !== "function" && typeof obj[k] !== "symbol")
        .sort();
      tasks.push({ text: "{" });
      keys.forEach((k, i) => {
        tasks.push({ text: `${i > 0 ? "," : ""}${JSON.stringify(k)}:` }, { value: obj[k] });
      });
      tasks.push({ text: "}" });
    }
    tasks.push({ leave: v });
    for (let i = tasks.length - 1; i >= 0; i--) stack.push(tasks[i] as Task);
  }
}
