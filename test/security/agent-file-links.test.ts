// Issue 16: "`/files/:link/:name` accepts extra segments after the token and streams the body of a
// redirect to another host: accept the exact token format only, follow redirects only within
// Slack's file hosts." The links here are made with the service's own key, as the outbound sender
// makes them for Instagram; the fake Slack serves the files (SLACK_API_URL points at it).

import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentFile } from "../../src/chat/chat-port.ts";
import { fetchFileWithin } from "../../src/chat/file-fetch.ts";
import { type InputsHarness, startInputsHarness } from "./inputs-harness.ts";

let h: InputsHarness;
/** Another local server: where a hostile redirect points. */
let other: Server;
let otherUrl: string;
const otherRequests: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  h = await startInputsHarness();
  other = createServer((req, res) => {
    otherRequests.push(req.headers);
    res.writeHead(200, { "content-type": "image/png" }).end("NOT-THE-AGENTS-FILE");
  });
  await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
  otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
});

afterAll(async () => {
  other?.closeAllConnections();
  await new Promise<void>((resolve) => other?.close(() => resolve()));
  await h?.close();
});

function file(id: string, name: string, over: { content?: string; redirect?: string } = {}): AgentFile {
  h.slack.addFile({
    id,
    name,
    mimetype: "image/png",
    content: Buffer.from(over.content ?? `PNG-${id}`),
    ...(over.redirect ? { redirect: over.redirect } : {}),
  });
  return { id, name, mimeType: "image/png", size: 8 };
}

/** The link's path on the service (its host is PUBLIC_URL's). */
const pathOf = (f: AgentFile) => new URL(h.links.url("slack", f)).pathname;
const lookups = () => h.slack.callsOf("files.info").length;

async function get(path: string) {
  const res = await fetch(`${h.url}${path}`);
  return { status: res.status, body: await res.text() };
}

describe("/files/<token>/<name>: the exact link format only", () => {
  it("serves a link exactly as it was made", async () => {
    const res = await get(pathOf(file("F0PLAIN", "shoe (1).png")));
    expect(res).toEqual({ status: 200, body: "PNG-F0PLAIN" });
  });

  it("answers 404 without fetching anything for a token with extra segments or a changed path", async () => {
    const path = pathOf(file("F0EXACT", "shoe.png"));
    const [, , token, name] = path.split("/") as [string, string, string, string];
    const before = lookups();
    const refusedBefore = h.logged("agent file link refused").length;
    const variants = [
      `/files/${token}.extra/${name}`,
      `/files/${token}.${token.split(".")[1]}/${name}`,
      `/files/${token}/${name}/`,
      `/files/${token}/${name}/more`,
      `/files/${token}/other.exe`,
      `/FILES/${token}/${name}`,
    ];
    for (const v of variants) {
      const res = await get(v);
      expect({ v, status: res.status }).toEqual({ v, status: 404 });
      expect(res.body).not.toContain("PNG-F0EXACT");
    }
    expect(lookups()).toBe(before);
    // One warning, with its reason, per refusal the route saw; the others matched no route at all.
    expect(h.logged("agent file link refused").slice(refusedBefore)).toEqual(
      ["malformed link", "malformed link", "wrong file name"].map((reason) =>
        expect.objectContaining({ level: 40, reason }),
      ),
    );
    expect((await get(path)).status).toBe(200);
  });

  it("still answers a forged signature of the right format with 403", async () => {
    const path = pathOf(file("F0FORGED", "shoe.png"));
    const forged = path.replace(
      /(\/files\/[^./]+\.)(.)/,
      (_, head: string, c: string) => `${head}${c === "A" ? "B" : "A"}`,
    );
    expect(forged).not.toBe(path);
    const before = lookups();
    expect((await get(forged)).status).toBe(403);
    expect(lookups()).toBe(before);
  });
});

describe("/files/…: redirects of the file download", () => {
  it("does not follow a redirect to another host: no body streamed, no token sent, 502 and a log line", async () => {
    const before = h.logged("agent file fetch failed").length;
    const res = await get(pathOf(file("F0EVIL", "evil.png", { redirect: `${otherUrl}/evil.png` })));
    expect(res.status).toBe(502);
    expect(res.body).not.toContain("NOT-THE-AGENTS-FILE");
    expect(otherRequests).toEqual([]);
    expect(h.logged("agent file fetch failed").slice(before)).toEqual([
      expect.objectContaining({ level: 40, err: expect.stringMatching(/not allowed: 127\.0\.0\.1:\d+/) }),
    ]);
  });

  it("does not follow a redirect to the same port under another host name", async () => {
    const port = new URL(h.slack.url).port;
    const res = await get(
      pathOf(
        file("F0ALIAS", "alias.png", { redirect: `http://localhost:${port}/files-pri/T0FAKE-F0PLAIN/x` }),
      ),
    );
    expect(res.status).toBe(502);
    expect(res.body).not.toContain("PNG-F0PLAIN");
  });

  it("follows a redirect within the configured Slack host, with the token", async () => {
    file("F0TARGET", "target.png", { content: "PNG-REAL-CONTENT" });
    const res = await get(
      pathOf(file("F0HOP", "hop.png", { redirect: "/files-pri/T0FAKE-F0TARGET/download/target.png" })),
    );
    // The fake serves its sign-in page instead of the file when the token is missing.
    expect(res).toEqual({ status: 200, body: "PNG-REAL-CONTENT" });
  });

  it("gives up on a redirect loop within Slack's host", async () => {
    const res = await get(pathOf(file("F0LOOP", "loop.png", { redirect: "/files-pri/T0FAKE-F0LOOP/again" })));
    expect(res.status).toBe(502);
    expect(h.logged("agent file fetch failed").at(-1)).toMatchObject({
      err: expect.stringMatching(/more than 3/),
    });
  });

  it("checks every hop in the helper Discord's downloads use too (no headers, another origin)", async () => {
    const cdn = createServer((req, res) => {
      res.writeHead(302, { location: req.url === "/a" ? "/b" : `${otherUrl}/c` }).end();
    });
    await new Promise<void>((resolve) => cdn.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;
    try {
      await expect(
        fetchFileWithin(fetch, new URL(`${origin}/a`), {}, (u) => u.origin === origin),
      ).rejects.toThrow(/not allowed: 127\.0\.0\.1/);
      expect(otherRequests).toEqual([]);
    } finally {
      cdn.closeAllConnections();
      await new Promise<void>((resolve) => cdn.close(() => resolve()));
    }
  });
});
