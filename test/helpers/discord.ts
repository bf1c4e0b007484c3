// A real discord.js Client wired to the fake Discord, and a way to await its events.

import { Client, type ClientEvents, type ClientOptions, Events, GatewayIntentBits } from "discord.js";
import type { DiscordServer } from "../fakes/discord-server.ts";

/**
 * Client options pointing REST and the gateway at the fake. The identify throttle is lifted:
 * @discordjs/ws otherwise waits 5–6.5 s before a second IDENTIFY (Discord's 1 per 5 s), which
 * would make every re-identify test slow without testing anything of ours.
 */
export function fakeDiscordClientOptions(
  server: DiscordServer,
  extra: Partial<ClientOptions> = {},
): ClientOptions {
  return {
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
    ...extra,
    rest: { api: server.apiUrl, ...extra.rest },
    ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }), ...extra.ws },
  };
}

/** Logs a client in against the fake and resolves once it is ready (guilds received). */
export async function connectDiscordClient(
  server: DiscordServer,
  extra: Partial<ClientOptions> = {},
): Promise<Client> {
  const client = new Client(fakeDiscordClientOptions(server, extra));
  const ready = nextDiscordEvent(client, Events.ClientReady, () => true, 10_000);
  await client.login(server.token);
  await ready;
  return client;
}

/** The next `event` whose arguments satisfy `accept`, or a rejection after `ms`. */
export function nextDiscordEvent<K extends keyof ClientEvents>(
  client: Client,
  event: K,
  accept: (...args: ClientEvents[K]) => boolean = () => true,
  ms = 5000,
): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: ClientEvents[K]): void => {
      if (!accept(...args)) return;
      clearTimeout(timer);
      client.off(event, listener);
      resolve(args);
    };
    const timer = setTimeout(() => {
      client.off(event, listener);
      reject(new Error(`no ${String(event)} within ${ms} ms`));
    }, ms);
    client.on(event, listener);
  });
}

/** Polls `check` until it returns a value other than undefined/false. */
export async function waitFor<T>(check: () => T | undefined | false, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
