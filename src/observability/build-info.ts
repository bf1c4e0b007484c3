import { readFileSync } from "node:fs";

/** The package's version, as package.json says: `threadbridge --version` and `threadbridge_build_info`. */
export const PACKAGE_VERSION: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;
