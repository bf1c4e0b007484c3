import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { PlatformDescriptor } from "./chat/platform.ts";
import { loadConfig } from "./config/config.ts";
import { withLocalSecrets } from "./config/local-secrets.ts";
import { DemoRefused } from "./demo/credentials.ts";
import { DEMO_ACCOUNT, DEMO_CUSTOMER, DEMO_POST, DemoCustomer, RULE_MARK } from "./demo/customer.ts";
import { type InstagramStandIn, startInstagramStandIn } from "./demo/instagram-stand-in.ts";
import { DEFAULT_COST, hashPassword } from "./http/console/password.ts";
import { addAccount } from "./instagram/accounts.ts";
import { TokenCipher } from "./instagram/token-cipher.ts";
import { createLogger, routeProcessWarnings } from "./log/logger.ts";
import { DIGEST_QUEUE, type DigestJob } from "./queue/boss.ts";
import { parseRuleFile } from "./rules/load.ts";
import { importRules } from "./rules/store.ts";
import { type Service, startService } from "./service.ts";

// `threadbridge demo`: the whole loop on one machine, with no account anywhere. The embedded
// database lives in a temporary directory (never DATA_DIR or ./.data), Instagram is the stand-in of
// demo/instagram-stand-in.ts (IG_GRAPH_URL points at it) with a scripted customer sending signed
// webhooks (demo/customer.ts), one DEMO account is routed to the chat platform that offers itself for
// the demo (the web inbox), with a few rules and a digest. The console's password is made up now
// and printed once. Ctrl-C or SIGTERM stops it all and deletes the directory.

/** The inbox (channel) the demo account is routed to. */
export const DEMO_CHANNEL = "demo";

const DEMO_RULES = `version: 1
rules:
  - id: demo-story-mention-thanks
    name: "DEMO: thank people who mention us in their story"
    account: "${DEMO_ACCOUNT.id}"
    trigger: { type: story_mention }
    actions:
      - type: dm_reply
        text: "Thanks for the story mention, {first_name|friend}! 💛 ${RULE_MARK}"
      - type: notice
        text: "DEMO: the story mention was thanked by a rule (docs/rules.md)."
    cooldown: 24h
  - id: demo-shipping-comment
    name: "DEMO: answer shipping questions under posts"
    account: "${DEMO_ACCOUNT.id}"
    trigger: { type: comment_text, keywords: [shipping] }
    actions:
      - type: public_reply
        variants: ["Shipping is free this week, @{username}! ${RULE_MARK}"]
    cooldown: 1d
`;

export interface DemoOptions {
  /** The environment the CLI read (`.env` included). */
  env: NodeJS.ProcessEnv;
  /** The chat platform the demo account is routed to: one with `demo` (the web inbox). */
  platform: PlatformDescriptor & { demo: NonNullable<PlatformDescriptor["demo"]> };
  platforms: readonly PlatformDescriptor[];
  /** Where the demo's lines go (standard output). */
  out: (line: string) => void;
}

async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

async function anyPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no free port");
  return address.port;
}

/** PORT when set; else 3000, the service's own default, when it is free; else any free port. */
async function demoPort(env: NodeJS.ProcessEnv): Promise<number> {
  if (env.PORT) return Number(env.PORT);
  return (await portFree(3000)) ? 3000 : anyPort();
}

/** Runs the demo until SIGINT or SIGTERM (the CLI checked that no real Instagram app is configured). */
export async function runDemo({ env, platform, platforms, out }: DemoOptions): Promise<void> {
  const log = createLogger(env.LOG_LEVEL ?? "warn", { stderr: true });
  routeProcessWarnings(log);
  const dir = mkdtempSync(path.join(tmpdir(), "threadbridge-demo-"));
  let service: Service | undefined;
  let standIn: InstagramStandIn | undefined;
  let customer: DemoCustomer | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      customer?.stop();
      await service?.stop().catch((err: unknown) => log.error({ err }, "DEMO service stop failed"));
      await standIn?.close();
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  // From the start, and for every signal: Ctrl-C at a terminal reaches both this process and the
  // bin's Node 24 relaunch (which passes it on), and a second signal must not end the process
  // before the directory is deleted.
  const onSignal = () => void stop().then(() => process.exit(0));
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const password = randomBytes(12).toString("base64url");
    const port = await demoPort(env);
    const publicUrl = `http://localhost:${port}`;
    standIn = await startInstagramStandIn(
      {
        account: DEMO_ACCOUNT,
        customers: new Map([[DEMO_CUSTOMER.id, DEMO_CUSTOMER]]),
        posts: new Map([[DEMO_POST.id, DEMO_POST]]),
      },
      (send) => void customer?.sent(send),
    );
    // The demo's own environment, not the caller's: no DATABASE_URL, Redis, Slack or Discord of
    // theirs reaches it, so nothing of a real installation is touched.
    const demoEnv: NodeJS.ProcessEnv = {
      DATA_DIR: dir,
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      IG_GRAPH_URL: standIn.url,
      CONSOLE_PASSWORD_HASH: await hashPassword(password, DEFAULT_COST),
      LOG_LEVEL: env.LOG_LEVEL ?? "warn",
      ...platform.demo.env,
    };
    const { config } = withLocalSecrets(loadConfig(demoEnv, platforms));
    service = await startService(config, { web: true, worker: true, migrate: true }, log);
    await addAccount(service.db, TokenCipher.fromConfig(config.tokenEncryptionKeys), {
      igUserId: DEMO_ACCOUNT.id,
      username: DEMO_ACCOUNT.username,
      token: "IGAA-DEMO-token",
      chat: { platform: platform.name, channel: DEMO_CHANNEL },
      digestChannel: DEMO_CHANNEL,
    });
    const rules = parseRuleFile(DEMO_RULES, "demo-rules.yaml");
    if (!rules.ok) throw new Error(`the demo's rules do not load: ${JSON.stringify(rules.errors)}`);
    await importRules(service.db, rules.file, "demo");

    out("threadbridge DEMO: a simulated Instagram on this machine; nothing here reaches Instagram.");
    out(`console: ${publicUrl}/`);
    out(`password: ${password}`);
    out(`inbox: ${publicUrl}/inbox/${DEMO_CHANNEL}`);
    out(`instagram: ${standIn.url} (the DEMO stand-in; what it was sent: ${standIn.url}/demo/sends)`);
    out(`data: ${dir} (deleted when the demo stops)`);
    out(
      "Sign in with the password, open the DEMO customer's conversation and answer it. Ctrl-C stops the demo.",
    );

    customer = new DemoCustomer(
      {
        url: `http://127.0.0.1:${port}/webhooks/instagram`,
        secret: config.instagram.appSecrets[0] as string,
        log,
      },
      standIn.media,
    );
    await customer.start();
    // The day so far, as the scheduled digest would post it, in the inbox beside the threads.
    await service.boss.send(DIGEST_QUEUE, { account: DEMO_ACCOUNT.id, kind: "24h" } satisfies DigestJob);
  } catch (err) {
    await stop();
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE")
      throw new DemoRefused(`port ${env.PORT} is in use: set PORT to a free one, or leave it unset`);
    throw err;
  }
}
