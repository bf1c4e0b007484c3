// Issue 16: "The public deletion status page echoes any text: show a code only when it has the
// code format." Rerun from outside: a value that is not a confirmation code, or a code nobody
// was given, gets one generic page that repeats nothing of the request; a real code is shown.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../../src/service.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv } from "../helpers/service.ts";
import { freshSignedRequest, postSignedRequest } from "../helpers/signed-request.ts";

let t: TestEnv;
let service: Service;

async function statusPage(code: string) {
  const res = await fetch(`${service.url}/privacy/deletion/${encodeURIComponent(code)}`);
  return { status: res.status, type: res.headers.get("content-type"), html: await res.text() };
}

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND);
  service = await startTestService(t, { worker: false });
});

afterAll(async () => {
  await service?.stop();
  await t?.cleanup();
});

describe("the deletion status page", () => {
  it("answers markup, a 10 KB value and an unknown code with one generic page that echoes none of them", async () => {
    const generic = await statusPage("NOSUCHCODE12");
    expect(generic.status).toBe(404);
    expect(generic.type).toMatch(/^text\/html/);
    expect(generic.html).toContain("No deletion request has this confirmation code.");
    expect(generic.html).not.toContain("NOSUCHCODE12");
    for (const attack of [
      "<script>alert(1)</script>",
      '"><img src=x onerror=alert(1)>',
      "A".repeat(10 * 1024),
      "nosuchcode12",
      "ABCDEFGHJKLMN",
    ]) {
      const page = await statusPage(attack);
      expect(page, attack.slice(0, 40)).toEqual(generic);
    }
  });

  it("shows a code the service gave out", async () => {
    const res = await postSignedRequest(
      service.url as string,
      "/instagram/data-deletion",
      freshSignedRequest("424242"),
    );
    const code = res.body.confirmation_code as string;
    const page = await statusPage(code);
    expect(page.status).toBe(200);
    expect(page.html).toContain(`Confirmation code: <strong>${code}</strong>`);
    expect(page.html).toContain("Nothing was stored about this account");
    expect((await statusPage(code.toLowerCase())).status).toBe(404);
  });
});
