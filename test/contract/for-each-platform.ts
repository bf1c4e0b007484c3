// Runs a scenario file once per contract platform: a describe block per platform with its own
// harness (started before its tests, closed after them), handed to the tests as `h`.

import { afterAll, beforeAll, describe } from "vitest";
import { type Backend, TEST_BACKEND } from "../helpers/backend.ts";
import type { ChatHarness, ContractPlatform, StartOptions } from "./harness.ts";
import { contractPlatforms } from "./platforms/index.ts";

export interface ForEachOptions extends StartOptions {
  /** Runs once the harness is up, before the tests (shared data of a file). */
  setup?(h: ChatHarness): Promise<void>;
  /** On a Postgres run, also run the file on the memory platform over the embedded database: the
   * sample of the embedded backend `npm test` runs (`npm run test:embedded` runs everything there). */
  embeddedSample?: boolean;
}

/** The platform of the embedded sample: the cheapest to start. */
const SAMPLE = "memory";

/** `body` declares the tests, reading the running harness through `h` (a stand-in that forwards
 * to the current platform's harness once its `beforeAll` has run). */
export function forEachPlatform(
  title: string,
  body: (h: ChatHarness) => void,
  options: ForEachOptions = {},
): void {
  const runs: { platform: ContractPlatform; backend?: Backend; label: string }[] = contractPlatforms.map(
    (platform) => ({ platform, label: platform.name }),
  );
  const sample = contractPlatforms.find((p) => p.name === SAMPLE);
  if (options.embeddedSample && TEST_BACKEND !== "embedded" && sample)
    runs.push({ platform: sample, backend: "embedded", label: `${SAMPLE} (embedded database)` });
  for (const { platform, backend, label } of runs)
    describe(`${title} on ${label}`, () => {
      let current: ChatHarness | undefined;
      const h = new Proxy({} as ChatHarness, {
        get(_target, key) {
          if (!current) throw new Error(`the ${platform.name} harness is not running`);
          const value = Reflect.get(current, key, current);
          return typeof value === "function" ? value.bind(current) : value;
        },
      });
      beforeAll(async () => {
        current = await platform.start(backend ? { ...options, backend } : options);
        await options.setup?.(h);
      });
      afterAll(async () => {
        await current?.close();
      });
      body(h);
    });
}
