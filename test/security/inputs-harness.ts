// The service as the review attacked it: web role with Slack on (a fake Slack behind it), its own
// database, and every log line it writes, captured and parsed. Workers stay off: these tests look
// at what the HTTP surface answers and stores, not at what is done with it later.

import { Writable } from "node:stream";
import { platforms } from "../../adapters/index.ts";
import { loadConfig } from "../../src/config/config.ts";
import { AgentFileLinks } from "../../src/http/agent-files.ts";
import { createLogger } from "../../src/log/logger.ts";
import { type Service, startService } from "../../src/service.ts";
import { type SlackServer, startSlackServer } from "../fakes/slack-server.ts";
import { TEST_BACKEND, TEST_KEY, type TestEnv, testEnv } from "../helpers/service.ts";

export const SLACK_SECRET = "slack-signing-secret-security";

export interface InputsHarness {
  url: string;
  t: TestEnv;
  service: Service;
  slack: SlackServer;
  /** Parsed log lines, in order. */
  logs: Record<string, unknown>[];
  /** Log lines with this message. */
  logged(msg: string | RegExp): Record<string, unknown>[];
  /** Makes agent-file links as the service does (same key, same public URL). */
  links: AgentFileLinks;
  close(): Promise<void>;
}

export async function startInputsHarness(
  options: {
    /** Postgres settings for every connection of the service (`-c name=value …`); the embedded
     * database has one session and nothing to set them for. */
    pgOptions?: string;
  } = {},
): Promise<InputsHarness> {
  const slack = await startSlackServer();
  const t = await testEnv(TEST_BACKEND, {
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    SLACK_API_URL: slack.apiUrl,
  });
  if (options.pgOptions && t.env.DATABASE_URL) {
    const url = new URL(t.env.DATABASE_URL as string);
    url.searchParams.set("options", options.pgOptions);
    t.env.DATABASE_URL = url.toString();
    t.config = loadConfig(t.env, platforms);
  }
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  const service = await startService(
    t.config,
    { web: true, worker: false, migrate: true },
    createLogger("debug", { destination: sink }),
  );
  const url = service.url as string;
  return {
    url,
    t,
    service,
    slack,
    logs,
    logged: (msg) =>
      logs.filter((l) => (typeof msg === "string" ? l.msg === msg : msg.test(String(l.msg ?? "")))),
    links: new AgentFileLinks(TEST_KEY, url),
    async close() {
      await service.stop();
      await slack.close();
      await t.cleanup();
    },
  };
}
