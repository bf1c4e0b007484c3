import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentFile } from "../../src/chat/chat-port.ts";
import { createLogger } from "../../src/log/logger.ts";
import { checkFile, IMAGES_PER_MESSAGE, partsOf } from "../../src/outbound/parts.ts";
import { OutboundSender } from "../../src/outbound/send-worker.ts";
import type { Service } from "../../src/service.ts";
import { type GraphServer, instagramResponder, startGraphServer } from "../fakes/graph-server.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv } from "../helpers/service.ts";
import { openConversation, seedAccount, senderDeps } from "./helpers.ts";

// Several images in one message and files (issue 22), through the real sender, gateway, limiter
// and Graph client against the fake Graph API, which checks the Send API's shapes (reference 2.2):
// `attachments` of 1 to 10 images, alone in its message.

const MB = 1024 * 1024;
const file = (name: string, mimeType: string, size = 1000): AgentFile => ({ id: name, name, mimeType, size });

describe("what goes in one message", () => {
  it("groups images next to each other by ten, keeps a lone image and every other file on its own", () => {
    const images = Array.from({ length: 12 }, (_, i) => file(`p${i}.png`, "image/png"));
    const parts = partsOf("hello", [
      ...images,
      file("terms.pdf", "application/pdf"),
      file("one.jpg", "image/jpeg"),
    ]);
    expect(parts.map((p) => (p.kind === "images" ? `images:${p.items.length}` : p.kind))).toEqual([
      "text",
      `images:${IMAGES_PER_MESSAGE}`,
      "images:2",
      "file",
      "file",
    ]);
    // From a refused group on, the images go one by one; the parts before it stay as planned.
    const split = partsOf("hello", images, { imagesOneByOneFrom: 2 });
    expect(split.map((p) => p.kind)).toEqual(["text", "images", "file", "file"]);
  });

  it("takes PDFs up to 25 MB as files and names what is wrong with anything else", () => {
    expect(checkFile(file("terms.pdf", "application/pdf", 24 * MB))).toEqual({ ok: true, type: "file" });
    // Uploads handed over without a type are judged by their name.
    expect(checkFile(file("terms.pdf", "application/octet-stream"))).toEqual({ ok: true, type: "file" });
    const big = checkFile(file("catalogue.pdf", "application/pdf", 26 * MB));
    expect(big).toEqual({
      ok: false,
      reason: "catalogue.pdf is too large for Instagram (26.0 MB; it takes pdf files up to 25 MB)",
    });
    const doc = checkFile(
      file("offer.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    );
    expect(doc.ok).toBe(false);
    if (!doc.ok)
      expect(doc.reason).toMatch(
        /^Instagram does not accept offer\.docx \(application\/vnd\.openxmlformats.*\); it takes .*pdf files up to 25 MB$/,
      );
    expect(checkFile(file("big.png", "image/png", 9 * MB))).toEqual({
      ok: false,
      reason: "big.png is too large for Instagram (9.0 MB; it takes png, jpeg or gif images up to 8 MB)",
    });
  });
});

describe("sending them", () => {
  let t: TestEnv;
  let svc: Service;
  let graph: GraphServer;
  let refusing: GraphServer;
  const ACCOUNT = "17841400000077001";
  let n = 0;

  beforeAll(async () => {
    graph = await startGraphServer(instagramResponder());
    refusing = await startGraphServer(instagramResponder({ refuseSeveralImages: true }));
    t = await testEnv(TEST_BACKEND);
    svc = await startTestService(t, { web: false, worker: false });
    await seedAccount(svc.db, t.env.TOKEN_ENCRYPTION_KEY as string, ACCOUNT);
  });

  afterAll(async () => {
    await svc?.stop();
    await graph?.close();
    await refusing?.close();
    await t?.cleanup();
  });

  function sender(to: GraphServer): OutboundSender {
    const log = createLogger("silent", { pretty: false });
    return new OutboundSender(
      senderDeps({
        db: svc.db,
        graphUrl: to.url,
        keys: t.env.TOKEN_ENCRYPTION_KEY as string,
        log,
        metrics: svc.metrics,
      }),
    );
  }

  /** An agent's reply of `text` with a saved reply's media by URL, in an open conversation. */
  async function reply(
    text: string,
    media: { type: "image" | "file"; url: string }[],
  ): Promise<{ id: number; customer: string }> {
    const customer = `6300000000000${String(n++).padStart(3, "0")}`;
    await openConversation(svc.db, ACCOUNT, customer);
    const { rows } = await svc.db.query<{ id: number }>(
      `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, client_id, text, details,
                             delivery_state, occurred_at)
       SELECT $1, id, 'outbound', 'agent', 'slack:U1', $3, $4, $5, 'pending', now()
         FROM conversations WHERE account_id = $1 AND customer_id = $2
       RETURNING id`,
      [ACCOUNT, customer, randomUUID(), text, JSON.stringify({ agentName: "Ana", urlAttachments: media })],
    );
    return { id: rows[0]?.id as number, customer };
  }

  const sendsTo = (server: GraphServer, customer: string) =>
    server.requests
      .filter((r) => r.method === "POST" && r.path.endsWith("/messages"))
      .map((r) => r.body as { recipient: { id?: string }; message: Record<string, unknown> })
      .filter((b) => b.recipient.id === customer)
      .map((b) => b.message);

  const img = (i: number) => ({ type: "image" as const, url: `https://cdn.example/p${i}.jpg` });

  it("sends twelve images as a message of ten and one of two, then the text, and marks the reply sent", async () => {
    const { id, customer } = await reply(
      "Here are the colours",
      Array.from({ length: 12 }, (_, i) => img(i)),
    );
    expect(await sender(graph).send(id)).toBe("sent");
    const bodies = sendsTo(graph, customer);
    expect(bodies).toEqual([
      {
        attachments: Array.from({ length: 10 }, (_, i) => ({
          type: "image",
          payload: { url: `https://cdn.example/p${i}.jpg` },
        })),
      },
      {
        attachments: [10, 11].map((i) => ({
          type: "image",
          payload: { url: `https://cdn.example/p${i}.jpg` },
        })),
      },
      { text: "Here are the colours" },
    ]);
    const { rows } = await svc.db.query<{ delivery_state: string; details: { partMids?: string[] } }>(
      "SELECT delivery_state, details FROM messages WHERE id = $1",
      [id],
    );
    expect(rows[0]?.delivery_state).toBe("sent");
    expect(rows[0]?.details.partMids).toHaveLength(2);
  });

  it("sends a PDF as a file attachment, and a single image in the single-attachment form", async () => {
    const { id, customer } = await reply("", [
      { type: "file", url: "https://cdn.example/terms.pdf" },
      img(1),
    ]);
    expect(await sender(graph).send(id)).toBe("sent");
    expect(sendsTo(graph, customer)).toEqual([
      { attachment: { type: "file", payload: { url: "https://cdn.example/terms.pdf" } } },
      { attachment: { type: "image", payload: { url: "https://cdn.example/p1.jpg" } } },
    ]);
  });

  it("sends the images one by one when Instagram refuses several in one message", async () => {
    const { id, customer } = await reply("Three views", [img(1), img(2), img(3)]);
    expect(await sender(refusing).send(id)).toBe("sent");
    const bodies = sendsTo(refusing, customer);
    expect(bodies).toEqual([
      { attachments: [img(1), img(2), img(3)].map((m) => ({ type: "image", payload: { url: m.url } })) },
      ...[1, 2, 3].map((i) => ({
        attachment: { type: "image", payload: { url: `https://cdn.example/p${i}.jpg` } },
      })),
      { text: "Three views" },
    ]);
    const { rows } = await svc.db.query<{ delivery_state: string; details: Record<string, unknown> }>(
      "SELECT delivery_state, details FROM messages WHERE id = $1",
      [id],
    );
    expect(rows[0]).toMatchObject({
      delivery_state: "sent",
      details: { imagesOneByOneFrom: 0, partsDone: 4, partsTotal: 4 },
    });
  });
});
