import { afterAll, beforeAll } from "vitest";
import type { Service } from "../../src/service.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv } from "./service.ts";

/**
 * The service with neither role for this test file: its database, migrated, and its pg-boss, with
 * nothing taking jobs, so the file's tests fetch, complete and inspect them themselves (the queue's
 * SQL, the ingest statement). `service.db` and `service.boss` are set once the file's `beforeAll`
 * hooks before this one's have run; it is stopped and its database dropped after the file.
 */
export function useIdleService(): { readonly db: Service["db"]; readonly boss: Service["boss"] } {
  let t: TestEnv | undefined;
  let svc: Service | undefined;
  const store = {} as { db: Service["db"]; boss: Service["boss"] };
  beforeAll(async () => {
    t = await testEnv(TEST_BACKEND);
    svc = await startTestService(t, { web: false, worker: false });
    store.db = svc.db;
    store.boss = svc.boss;
  });
  afterAll(async () => {
    await svc?.stop();
    await t?.cleanup();
  });
  return store;
}
