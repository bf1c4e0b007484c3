#!/usr/bin/env node
// Fills Node's compile cache (see bin/threadbridge.js) ahead of the first start, as the Docker image
// does at build time: every module of src/ and adapters/ is loaded once, so its stripped TypeScript
// and V8 code are on disk. A role's first start then reads them instead of loading the type stripper
// (amaro) and compiling: idle RSS of a first `threadbridge web` 102 MiB instead of 123
// (bench/README.md, Memory). The cache is keyed by each file's path and content, so it must be
// filled where the files will run from, with the Node that will run them.
import { readdirSync } from "node:fs";
import module from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const status = module.enableCompileCache?.();
if (!status || status.status === module.constants.compileCacheStatus.FAILED) {
  process.stderr.write(`no compile cache: ${status?.message ?? "this Node has none"}\n`);
  process.exit(1);
}
const files = ["src", "adapters"].flatMap((dir) =>
  readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => path.join(root, dir, f))
    .sort(),
);
let failed = 0;
for (const file of files) {
  try {
    await import(pathToFileURL(file).href);
  } catch (err) {
    failed++;
    process.stderr.write(`${path.relative(root, file)}: ${err instanceof Error ? err.message : err}\n`);
  }
}
module.flushCompileCache?.();
process.stdout.write(
  `compile cache: ${files.length - failed} of ${files.length} modules in ${status.directory}\n`,
);
// Some modules start timers or connections as they load; the cache is written, so stop here.
process.exit(failed === 0 ? 0 : 1);
