import type { AgentFile } from "../chat/chat-port.ts";
import type { AttachmentType, GenericElement, QuickReply } from "../instagram/graph-client.ts";
import type { ApiClass } from "../ratelimit/classes.ts";

// An agent's message becomes one or more Send API calls ("parts"): attachments by URL (a saved
// reply's images and document), its text, split to Instagram's 1,000-byte limit, then its files.
// Images next to each other go as one message of up to IMAGES_PER_MESSAGE (the Send API's
// `attachments` form, reference 2.2); anything else is one call per file. Parts are sent in order
// and their progress is stored, so a retried job continues with the first part not yet delivered.

/** Send API text limit: UTF-8 bytes, not characters (reference 2.2). */
export const TEXT_LIMIT_BYTES = 1000;

/** Images one Send API message may carry (reference 2.2: "up to 10"). */
export const IMAGES_PER_MESSAGE = 10;

/** One image of a several-image message: an agent's file, or media at a public URL. */
export type ImageItem = { kind: "file"; file: AgentFile } | { kind: "url"; url: string };

export type Part =
  | { kind: "text"; text: string; quickReplies?: QuickReply[] }
  | { kind: "file"; file: AgentFile; type: AttachmentType }
  /** Media already at a public https URL (a rule's picture, a saved reply's images or document):
   * Instagram fetches it from there. */
  | { kind: "url"; type: "image" | "file"; url: string }
  /** 2 to IMAGES_PER_MESSAGE images in one message (`message.attachments`). */
  | { kind: "images"; items: ImageItem[] }
  /** A saved reply's generic template (its cards), one call after the text. */
  | { kind: "cards"; elements: GenericElement[] };

const MB = 1024 * 1024;

/** Formats and sizes the Send API accepts (reference 2.2). */
const ACCEPTED: Array<{ type: AttachmentType; test: RegExp; maxBytes: number; label: string }> = [
  {
    type: "image",
    test: /^image\/(png|jpe?g|gif)$/,
    maxBytes: 8 * MB,
    label: "png, jpeg or gif images up to 8 MB",
  },
  {
    type: "video",
    test: /^video\/(mp4|ogg|x-msvideo|avi|quicktime|webm)$/,
    maxBytes: 25 * MB,
    label: "mp4, ogg, avi, mov or webm videos up to 25 MB",
  },
  {
    type: "audio",
    test: /^audio\/(aac|mp4|x-m4a|m4a|wav|x-wav|wave)$/,
    maxBytes: 25 * MB,
    label: "aac, m4a, wav or mp4 audio up to 25 MB",
  },
  { type: "file", test: /^application\/pdf$/, maxBytes: 25 * MB, label: "pdf files up to 25 MB" },
];

export type FileCheck = { ok: true; type: AttachmentType } | { ok: false; reason: string };

/** What a file's name says it is, for platforms that hand over an upload as
 * `application/octet-stream` (or with no type at all). */
const BY_EXTENSION: Record<string, string> = {
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  mp4: "video/mp4",
  mov: "video/quicktime",
  webm: "video/webm",
  m4a: "audio/x-m4a",
  aac: "audio/aac",
  wav: "audio/wav",
};

function mimeTypeOf(file: AgentFile): string {
  const given = file.mimeType.toLowerCase().split(";")[0]?.trim() ?? "";
  if (given !== "" && given !== "application/octet-stream" && given !== "binary/octet-stream") return given;
  const ext = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase() ?? "";
  return BY_EXTENSION[ext] ?? given;
}

function megabytes(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

export function checkFile(file: AgentFile): FileCheck {
  const mimeType = mimeTypeOf(file);
  const kind = ACCEPTED.find((a) => a.test.test(mimeType));
  if (!kind)
    return {
      ok: false,
      reason: `Instagram does not accept ${file.name} (${mimeType || "a file of unknown type"}); it takes ${ACCEPTED.map((a) => a.label).join("; ")}`,
    };
  if (file.size > kind.maxBytes)
    return {
      ok: false,
      reason: `${file.name} is too large for Instagram (${megabytes(file.size)}; it takes ${kind.label})`,
    };
  return { ok: true, type: kind.type };
}

/** Splits text into pieces of at most `limit` UTF-8 bytes, preferring paragraph, line, then word
 * boundaries, never cutting a character (or a surrogate pair) in half. */
export function splitText(text: string, limit = TEXT_LIMIT_BYTES): string[] {
  const out: string[] = [];
  let rest = text.trim();
  while (Buffer.byteLength(rest, "utf8") > limit) {
    // The longest prefix within the limit, by code points.
    let end = 0;
    let bytes = 0;
    for (const ch of rest) {
      const b = Buffer.byteLength(ch, "utf8");
      if (bytes + b > limit) break;
      bytes += b;
      end += ch.length;
    }
    const window = rest.slice(0, end);
    const cut = [window.lastIndexOf("\n\n"), window.lastIndexOf("\n"), window.lastIndexOf(" ")].find(
      (i) => i > end / 2,
    );
    const at = cut !== undefined && cut > 0 ? cut : end;
    out.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).trimStart();
  }
  if (rest !== "") out.push(rest);
  return out;
}

export interface Extras {
  /** Offered with the last text part (Instagram shows them under it). */
  quickReplies?: QuickReply[];
  /** A rule's picture, sent after the text. */
  imageUrl?: string;
  /** A saved reply's images and document, sent before the text so its quick replies stay under
   * the last message. */
  urlAttachments?: { type: "image" | "file"; url: string }[];
  /** A saved reply's cards (a generic template), sent as one message right after the text. */
  cards?: GenericElement[];
  /** Parts from this index on send their images one by one: Instagram refused the several-image
   * form (stored on the message, so a retry keeps the same plan for the parts already sent). */
  imagesOneByOneFrom?: number;
}

export function partsOf(text: string | null, files: AgentFile[], extras: Extras = {}): Part[] {
  const parts: Part[] = (extras.urlAttachments ?? []).map((a) => ({
    kind: "url" as const,
    type: a.type,
    url: a.url,
  }));
  const texts = splitText(text ?? "").map((t) => ({ kind: "text" as const, text: t }) as Part);
  const last = texts.at(-1);
  if (extras.quickReplies?.length && last?.kind === "text") last.quickReplies = extras.quickReplies;
  parts.push(...texts);
  if (extras.cards?.length) parts.push({ kind: "cards", elements: extras.cards });
  for (const file of files) {
    const check = checkFile(file);
    if (check.ok) parts.push({ kind: "file", file, type: check.type });
  }
  if (extras.imageUrl) parts.push({ kind: "url", type: "image", url: extras.imageUrl });
  return groupImages(parts, extras.imagesOneByOneFrom);
}

function imageItem(part: Part): ImageItem | undefined {
  if (part.kind === "file" && part.type === "image") return { kind: "file", file: part.file };
  if (part.kind === "url" && part.type === "image") return { kind: "url", url: part.url };
  return undefined;
}

/** Runs of images next to each other become messages of up to IMAGES_PER_MESSAGE images; a run
 * of one stays a single attachment (the form every API version takes). A group at index
 * `oneByOneFrom` or later is sent as its single images instead. */
function groupImages(parts: Part[], oneByOneFrom = Number.POSITIVE_INFINITY): Part[] {
  const out: Part[] = [];
  let run: Part[] = [];
  const flush = () => {
    for (let i = 0; i < run.length; i += IMAGES_PER_MESSAGE) {
      const chunk = run.slice(i, i + IMAGES_PER_MESSAGE);
      if (chunk.length === 1 || out.length >= oneByOneFrom) out.push(...chunk);
      else out.push({ kind: "images", items: chunk.map((p) => imageItem(p) as ImageItem) });
    }
    run = [];
  };
  for (const part of parts) {
    if (imageItem(part)) run.push(part);
    else {
      flush();
      out.push(part);
    }
  }
  flush();
  return out;
}

/** The rate-limit class of a Send API call (seed 002): audio and video have their own, lower
 * limit, and so has a message of several images (Instagram fetches each). */
export function sendClass(part: Part): ApiClass {
  if (part.kind === "images") return "send_images";
  return part.kind === "file" && (part.type === "audio" || part.type === "video")
    ? "send_media"
    : "send_text";
}
