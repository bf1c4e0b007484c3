import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Config } from "./config.ts";

// The embedded mode must boot with nothing configured. What it cannot boot without (a token
// encryption key, a secret to verify webhooks with, a verify token) is generated once into
// DATA_DIR, readable by the owner only, so `threadbridge replay` can sign payloads the service accepts.

export interface LocalSecrets {
  webhookSecret: string;
  verifyToken: string;
  tokenEncryptionKey: string;
  /** Added after the first release: files written before it lack it until the next start. */
  consoleSessionSecret?: string;
}

export function localSecretsPath(dataDir: string): string {
  return path.join(dataDir, "local-secrets.json");
}

export function readLocalSecrets(dataDir: string): LocalSecrets | undefined {
  try {
    return JSON.parse(readFileSync(localSecretsPath(dataDir), "utf8")) as LocalSecrets;
  } catch {
    return undefined;
  }
}

export function ensureLocalSecrets(dataDir: string): LocalSecrets {
  const existing = readLocalSecrets(dataDir);
  if (existing?.consoleSessionSecret) return existing;
  if (existing) {
    // The other secrets stay as they are: they sealed tokens and signed webhooks already.
    const upgraded = { ...existing, consoleSessionSecret: randomBytes(32).toString("base64url") };
    const file = localSecretsPath(dataDir);
    writeFileSync(`${file}.new`, `${JSON.stringify(upgraded, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${file}.new`, file);
    return upgraded;
  }
  const secrets: LocalSecrets = {
    webhookSecret: randomBytes(24).toString("hex"),
    verifyToken: randomBytes(12).toString("hex"),
    tokenEncryptionKey: randomBytes(32).toString("base64"),
    consoleSessionSecret: randomBytes(32).toString("base64url"),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(localSecretsPath(dataDir), `${JSON.stringify(secrets, null, 2)}\n`, {
    mode: 0o600,
    flag: "wx",
  });
  return secrets;
}

/** What the embedded mode filled in, so start-up can say so. */
export interface Defaulted {
  webhookSecret: boolean;
  verifyToken: boolean;
  tokenEncryptionKey: boolean;
  consoleSessionSecret: boolean;
}

/** Fills unset secrets from DATA_DIR in the embedded mode; Postgres deployments must configure them. */
export function withLocalSecrets(config: Config): { config: Config; defaulted: Defaulted } {
  const defaulted: Defaulted = {
    webhookSecret: false,
    verifyToken: false,
    tokenEncryptionKey: false,
    consoleSessionSecret: false,
  };
  if (config.database.kind !== "embedded") return { config, defaulted };
  const local = ensureLocalSecrets(config.dataDir);
  const instagram = { ...config.instagram };
  if (instagram.appSecrets.length === 0) {
    instagram.appSecrets = [local.webhookSecret];
    defaulted.webhookSecret = true;
  }
  if (!instagram.verifyToken) {
    instagram.verifyToken = local.verifyToken;
    defaulted.verifyToken = true;
  }
  let tokenEncryptionKeys = config.tokenEncryptionKeys;
  if (!tokenEncryptionKeys) {
    tokenEncryptionKeys = local.tokenEncryptionKey;
    defaulted.tokenEncryptionKey = true;
  }
  let consoleSettings = config.console;
  if (!consoleSettings.sessionSecret && local.consoleSessionSecret) {
    consoleSettings = { ...consoleSettings, sessionSecret: local.consoleSessionSecret };
    defaulted.consoleSessionSecret = true;
  }
  return { config: { ...config, instagram, tokenEncryptionKeys, console: consoleSettings }, defaulted };
}
