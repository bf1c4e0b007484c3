#!/usr/bin/env node
// The `threadbridge` command. The CLI is TypeScript run by Node 24's type stripping; started by an
// older Node (this machine's system Node 20, say), it re-runs itself under the Node 24 that
// `npm ci` installs from the `node` devDependency.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import module from "node:module";
import { fileURLToPath } from "node:url";

// `--version` answers at once, under any Node, without loading the service (the CLI's own
// `--version` says the same once everything is loaded).
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  process.stdout.write(`${version}\n`);
  process.exit(0);
}

const major = Number(process.versions.node.split(".")[0]);
if (major >= 24) {
  // Node's compile cache keeps each module's stripped TypeScript and V8 code on disk (in the
  // system's temporary directory, or NODE_COMPILE_CACHE), checked against the source, so a start
  // after the first neither loads the type stripper (about 17 MiB) nor compiles again: what it saves
  // is in bench/README.md (Start and CLI). Where nothing can be written, Node runs without it.
  module.enableCompileCache?.();
  const { main } = await import("../src/cli.ts");
  const { platforms } = await import("../adapters/index.ts");
  await main(process.argv, platforms);
} else {
  const pinned = fileURLToPath(new URL("../node_modules/node/bin/node", import.meta.url));
  if (!existsSync(pinned)) {
    process.stderr.write(
      `threadbridge needs Node 24 or newer (this is ${process.version}); run \`npm ci\` to install it.\n`,
    );
    process.exit(1);
  }
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => (signal ? process.kill(process.pid, signal) : process.exit(code ?? 1)));
}
