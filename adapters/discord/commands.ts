// Registers the application commands of manifest/discord-commands.json (a bulk overwrite: the
// manifest is the whole truth, commands not in it are removed). Run it on deploy, not on every
// start: Discord limits how many commands an app may create per day.

import { readFile } from "node:fs/promises";
import { type REST, type RESTPutAPIApplicationCommandsJSONBody, Routes } from "discord.js";

export const COMMANDS_MANIFEST = new URL("../../manifest/discord-commands.json", import.meta.url);

export async function readCommandManifest(
  path: URL | string = COMMANDS_MANIFEST,
): Promise<RESTPutAPIApplicationCommandsJSONBody> {
  const parsed: unknown = JSON.parse(await readFile(path, "utf8"));
  if (!Array.isArray(parsed) || parsed.some((c) => typeof c !== "object" || c === null || !("name" in c)))
    throw new Error("manifest/discord-commands.json must be an array of application commands");
  return parsed as RESTPutAPIApplicationCommandsJSONBody;
}

/** Registers the commands in one guild (instant) or globally; returns how many Discord has now. */
export async function registerCommands(rest: REST, appId: string, guildId?: string): Promise<number> {
  const body = await readCommandManifest();
  const route = guildId ? Routes.applicationGuildCommands(appId, guildId) : Routes.applicationCommands(appId);
  const result = await rest.put(route, { body });
  return Array.isArray(result) ? result.length : body.length;
}
