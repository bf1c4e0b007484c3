import { expect, it } from "vitest";
import type { ChatAdapter, FileSource } from "../../src/chat/chat-port.ts";
import { LazyAdapter } from "../../src/chat/lazy-adapter.ts";

// A web process's adapter for a platform whose SDK it rarely needs: nothing loads until the first
// call, the load happens once for concurrent calls, and a failed load is tried again.

function fakeAdapter(log: string[]): ChatAdapter & FileSource {
  const record =
    (name: string) =>
    async (...args: unknown[]) => {
      log.push(`${name}:${JSON.stringify(args)}`);
      return undefined as never;
    };
  return {
    platform: "room",
    openThread: record("openThread"),
    updateHeader: record("updateHeader"),
    post: record("post"),
    update: record("update"),
    remove: record("remove"),
    removeThread: record("removeThread"),
    react: record("react"),
    mark: record("mark"),
    notice: record("notice"),
    alert: record("alert"),
    postDigest: record("postDigest"),
    fetchFile: record("fetchFile"),
  };
}

it("loads on the first call, once, and passes every call through", async () => {
  const calls: string[] = [];
  let loads = 0;
  const lazy = new LazyAdapter("room", async () => {
    loads += 1;
    return fakeAdapter(calls);
  });
  expect(lazy.platform).toBe("room");
  expect(loads).toBe(0);
  await Promise.all([lazy.alert("C1", "token expired"), lazy.alert("C2", "again")]);
  await lazy.removeThread({ channel: "C1", thread: "T1" } as never);
  expect(loads).toBe(1);
  expect(calls).toEqual([
    'alert:["C1","token expired"]',
    'alert:["C2","again"]',
    'removeThread:[{"channel":"C1","thread":"T1"}]',
  ]);
});

it("tries a failed load again on the next call", async () => {
  const calls: string[] = [];
  let loads = 0;
  const lazy = new LazyAdapter("room", async () => {
    loads += 1;
    if (loads === 1) throw new Error("module not found");
    return fakeAdapter(calls);
  });
  await expect(lazy.alert("C1", "x")).rejects.toThrow("module not found");
  await lazy.alert("C1", "y");
  expect(loads).toBe(2);
  expect(calls).toEqual(['alert:["C1","y"]']);
});
