// Runs a scenario file once per contract platform: a describe block per platform with its own
// harness (started before its tests, closed after them), handed to the tests as `h`.

import { afterAll, beforeAll, describe } from "vitest";
import type { ChatHarness, StartOptions } from "./harness.ts";
import { contractPlatforms } from "./platforms/index.ts";

export interface ForEachOptions extends StartOptions {
  /** Runs once the harness is up, before the tests (shared data of a file). */
  setup?(h: ChatHarness): Promise<void>;
}

/** `body` declares the tests, reading the running harness through `h` (a stand-in that forwards
 * to the current platform's harness once its `beforeAll` has run). */
export function forEachPlatform(
  title: string,
  body: (h: ChatHarness) => void,
  options: ForEachOptions = {},
): void {
  for (const platform of contractPlatforms)
    describe(`${title} on ${platform.name}`, () => {
      let current: ChatHarness | undefined;
      const h = new Proxy({} as ChatHarness, {
        get(_target, key) {
          if (!current) throw new Error(`the ${platform.name} harness is not running`);
          const value = Reflect.get(current, key, current);
          return typeof value === "function" ? value.bind(current) : value;
        },
      });
      beforeAll(async () => {
        current = await platform.start(options);
        await options.setup?.(h);
      }, 120_000);
      afterAll(async () => {
        await current?.close();
      });
      body(h);
    });
}
