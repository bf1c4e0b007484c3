// Small helpers the contract scenarios share.

import { waitFor } from "../helpers/service.ts";
import type { ChatHarness, Posted } from "./harness.ts";

export const now = () => Date.now();

/** Whether a message of the thread is the mirror of something that said `text`. */
export const mirrors = (h: ChatHarness, thread: string, text: string) =>
  h.messages(thread).some((m) => h.said(text).asymmetricMatch(m.text));

/** Messages of the thread whose text holds `words`. */
export const saying = (h: ChatHarness, thread: string, words: string): Posted[] =>
  h.messages(thread).filter((m) => m.text.includes(words));

/** Waits until a message of the thread says `words`, and resolves with it. */
export const threadSays = (h: ChatHarness, thread: string, words: string): Promise<Posted> =>
  waitFor(async () => saying(h, thread, words)[0], 10_000, `“${words}” in ${thread}`);
