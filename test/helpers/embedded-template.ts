// An embedded database made once per test run and copied for each test that needs a fresh one.
// PGlite's first start in a new directory (its initdb, in WebAssembly) takes 10 to 45 s on a busy
// 2-core machine; copying the 40 MB result takes a fraction of a second, and opening the copy 1 to
// 3 s. The copy is what PGlite itself would have made: an empty cluster, no migration run.

import { cpSync, existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import lockfile from "proper-lockfile";
import { openEmbedded } from "../../src/db/database.ts";

/** The per-run directory the global set-up made (TEST_EMBEDDED_TEMPLATE_DIR); the template is
 * made there by the first worker that needs it, under a lock, and removed with the directory. */
const ROOT = process.env.TEST_EMBEDDED_TEMPLATE_DIR;

async function template(root: string): Promise<string> {
  const ready = path.join(root, "ready");
  if (!existsSync(ready)) {
    const release = await lockfile.lock(root, {
      realpath: false,
      stale: 120_000,
      retries: { retries: 900, minTimeout: 100, maxTimeout: 1_000 },
    });
    try {
      if (!existsSync(ready)) {
        const db = await openEmbedded(root);
        await db.close();
        writeFileSync(ready, "");
      }
    } finally {
      await release();
    }
  }
  return path.join(root, "pgdata");
}

/** Puts a fresh embedded database in `dataDir` (where `openEmbedded(dataDir)` looks for it), from
 * the run's template; without a template (outside vitest's global set-up) PGlite makes its own. */
export async function seedEmbeddedDatabase(dataDir: string): Promise<void> {
  if (!ROOT) return;
  cpSync(await template(ROOT), path.join(dataDir, "pgdata"), { recursive: true });
}
