// Loaded with `node --import` by help-loads.test.ts: records every module the process loads and
// prints the list on stderr as it exits.
import { registerHooks } from "node:module";

const urls = [];
registerHooks({
  load(url, context, next) {
    urls.push(url);
    return next(url, context);
  },
});
process.on("exit", () => process.stderr.write(`MODULES:\n${urls.join("\n")}\n`));
