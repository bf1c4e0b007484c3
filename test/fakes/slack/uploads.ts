// The fake Slack's side of `files.uploadV2`: Slack's three-step external upload.
// 1. `files.getUploadURLExternal` (`filename`, `length`, optional `alt_txt`; the WebClient sends
//    `alt_text`, taken too) answers `upload_url` and `file_id`;
// 2. the bytes are POSTed to `upload_url`, raw or as a multipart form (the WebClient sends a form
//    with one file part), answered `200 OK - <bytes>` in plain text;
// 3. `files.completeUploadExternal` (`files` as a JSON array of `{id, title}`, optional
//    `channel_id`, `thread_ts`, `initial_comment`) shares them and answers `files: [{id, title}]`.
// Every shared file is recorded with its bytes and where it went, for tests to inspect.

import { randomBytes } from "node:crypto";

export interface UploadedFile {
  id: string;
  name: string;
  title: string;
  mimetype: string;
  bytes: Buffer;
  /** The length announced in step 1; the WebClient computes it from the bytes. */
  declaredLength: number;
  /** The image description given in step 1. */
  altText?: string;
  /** Where it was shared; undefined when completed without a channel (private to the app). */
  channel?: string;
  threadTs?: string;
  initialComment?: string;
  /** The message that shared it. */
  ts?: string;
}

interface Pending {
  id: string;
  filename: string;
  length: number;
  altText?: string;
  bytes?: Buffer;
}

type Answer = Record<string, unknown>;

/** What the server does with a completed file: post it in a channel, or say why it cannot. */
export type Share = (
  channel: string,
  share: { text: string; threadTs?: string; files: { id: string; name: string }[] },
) => { ts: string } | { error: string };

const MIME: Record<string, string> = {
  json: "application/json",
  txt: "text/plain",
  csv: "text/csv",
  png: "image/png",
  jpg: "image/jpeg",
  pdf: "application/pdf",
};

export class FileUploads {
  readonly uploaded: UploadedFile[] = [];
  readonly #pending = new Map<string, Pending>();
  readonly #byKey = new Map<string, string>();
  #counter = 0;

  /** Step 1. `base` is the server's origin. */
  getUploadURL(args: Record<string, unknown>, base: string): Answer {
    const filename = typeof args.filename === "string" ? args.filename : "";
    const length = Number(args.length);
    if (!filename || !Number.isInteger(length) || length < 1)
      return { ok: false, error: "invalid_arguments" };
    this.#counter += 1;
    const id = `F0UPLOAD${String(this.#counter).padStart(4, "0")}`;
    const key = randomBytes(12).toString("hex");
    const alt = [args.alt_txt, args.alt_text].find((a) => typeof a === "string" && a.length > 0);
    if (typeof alt === "string" && alt.length > 1000) return { ok: false, error: "invalid_arguments" };
    this.#pending.set(id, { id, filename, length, ...(typeof alt === "string" ? { altText: alt } : {}) });
    this.#byKey.set(key, id);
    return { upload_url: `${base}/upload/v1/${key}`, file_id: id };
  }

  /** Step 2: the POST to an upload URL (path `/upload/v1/<key>`). */
  async receive(path: string, contentType: string, raw: Buffer): Promise<{ status: number; text: string }> {
    const id = this.#byKey.get(path.slice("/upload/v1/".length));
    const pending = id ? this.#pending.get(id) : undefined;
    if (!pending) return { status: 404, text: "Not Found" };
    let bytes = raw;
    if (contentType.startsWith("multipart/form-data")) {
      const form = await new Response(new Uint8Array(raw), {
        headers: { "content-type": contentType },
      }).formData();
      const part = [...form.values()].find((v) => typeof v !== "string");
      if (!part) return { status: 400, text: "no file in the form" };
      bytes = Buffer.from(await part.arrayBuffer());
    }
    pending.bytes = bytes;
    return { status: 200, text: `OK - ${bytes.length}` };
  }

  /** Step 3. A file whose bytes never arrived is not found, as far as sharing goes. */
  complete(args: Record<string, unknown>, share: Share): Answer {
    let listed: unknown;
    try {
      listed = typeof args.files === "string" ? JSON.parse(args.files) : args.files;
    } catch {
      return { ok: false, error: "invalid_arguments" };
    }
    if (!Array.isArray(listed) || listed.length === 0) return { ok: false, error: "invalid_arguments" };
    const files: { pending: Pending & { bytes: Buffer }; title: string }[] = [];
    for (const entry of listed as { id?: unknown; title?: unknown }[]) {
      const pending = typeof entry?.id === "string" ? this.#pending.get(entry.id) : undefined;
      if (!pending?.bytes) return { ok: false, error: "file_not_found" };
      const title = typeof entry.title === "string" ? entry.title : pending.filename;
      files.push({ pending: { ...pending, bytes: pending.bytes }, title });
    }
    const channel = typeof args.channel_id === "string" && args.channel_id ? args.channel_id : undefined;
    const threadTs = typeof args.thread_ts === "string" && args.thread_ts ? args.thread_ts : undefined;
    const comment = typeof args.initial_comment === "string" ? args.initial_comment : undefined;
    // One message shares them all, under the initial comment.
    let ts: string | undefined;
    if (channel) {
      const shared = share(channel, {
        text: comment ?? "",
        ...(threadTs ? { threadTs } : {}),
        files: files.map(({ pending }) => ({ id: pending.id, name: pending.filename })),
      });
      if ("error" in shared) return { ok: false, error: shared.error };
      ts = shared.ts;
    }
    for (const { pending, title } of files) {
      const record: UploadedFile = {
        id: pending.id,
        name: pending.filename,
        title,
        mimetype: MIME[pending.filename.split(".").pop()?.toLowerCase() ?? ""] ?? "application/octet-stream",
        bytes: pending.bytes,
        declaredLength: pending.length,
      };
      if (pending.altText !== undefined) record.altText = pending.altText;
      if (channel) record.channel = channel;
      if (ts) record.ts = ts;
      if (threadTs) record.threadTs = threadTs;
      if (comment !== undefined) record.initialComment = comment;
      this.#pending.delete(pending.id);
      this.uploaded.push(record);
    }
    return { files: files.map(({ pending, title }) => ({ id: pending.id, title })) };
  }
}
