// Bolt and the WebClient log through this onto pino. Their debug lines carry request bodies
// (message text), so debug is dropped whatever the level; the rest is kept as a plain message.

// From the Web API client, which Bolt re-exports: a process that only posts never loads Bolt.
import { LogLevel, type Logger as SlackLogger } from "@slack/web-api";
import type { Logger } from "../../src/log/logger.ts";
import { errorFields } from "./slack-errors.ts";

function split(parts: unknown[]): { message: string; err?: ReturnType<typeof errorFields> } {
  const err = parts.find((p) => p instanceof Error);
  const message = parts
    .filter((p) => !(p instanceof Error))
    .map((p) => (typeof p === "string" ? p : typeof p === "number" ? String(p) : ""))
    .filter((p) => p.length > 0)
    .join(" ");
  return err ? { message: message || "slack sdk error", err: errorFields(err) } : { message };
}

export function boltLogger(log: Logger): SlackLogger {
  let level: LogLevel = LogLevel.INFO;
  const emit = (method: "info" | "warn" | "error", parts: unknown[]) => {
    const { message, err } = split(parts);
    if (err) log[method]({ sdk: "slack", err }, message);
    else log[method]({ sdk: "slack" }, message);
  };
  return {
    debug: () => {},
    info: (...parts: unknown[]) => emit("info", parts),
    warn: (...parts: unknown[]) => emit("warn", parts),
    error: (...parts: unknown[]) => emit("error", parts),
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
