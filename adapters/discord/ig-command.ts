// The `/ig` slash command on Discord: the core's commands (src/commands) as subcommands with named
// options (manifest/discord-commands.json is generated from them: `npm run manifests`). Discord runs
// it inside threads too, so it offers the thread commands (close, assign, snooze…) as well, and a
// customer left out means the thread's customer. What it acts on is limited, in the core, to the
// accounts routed to the channel where it is used (a thread's parent channel); the manifest's
// default_member_permissions keeps it to members who may Manage Messages unless a server admin
// grants it otherwise.

import {
  type APIApplicationCommandBasicOption,
  type APIApplicationCommandSubcommandGroupOption,
  type APIApplicationCommandSubcommandOption,
  ApplicationCommandOptionType,
  type CommandInteractionOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from "discord.js";
import type { Arg } from "../../src/commands/args.ts";
import { COMMANDS, SLASH_COMMAND } from "../../src/commands/catalog.ts";
import type { Command } from "../../src/commands/define.ts";
import { isOptional, type ParsedCommand, type Surface } from "../../src/commands/registry.ts";

export const IG_COMMAND = SLASH_COMMAND.name;

export const SLASH: Surface = {
  prefix: "/ig ",
  kind: "slash",
  inThreads: true,
  input: "options",
  style: "markup",
  bold: (text) => `**${text}**`,
  escape: (text) => text,
  footer: ["In a conversation's thread, !help lists what can be typed there."],
};

export function usage(): string {
  return COMMANDS.help(SLASH);
}

/** What a slash interaction picked: the group and subcommand, and each option's value. A member
 * option arrives as `@Display Name` (`members` resolves the ids Discord sent). */
export interface SlashInput {
  path: string[];
  options: Record<string, string | undefined>;
}

/** The interaction's option tree (discord.js `options.data`) → the path and the leaf options. */
export function slashInput(
  data: readonly CommandInteractionOption[],
  memberName: (option: CommandInteractionOption) => string | undefined = () => undefined,
): SlashInput {
  const path: string[] = [];
  let level = data;
  for (;;) {
    const branch = level.find(
      (o) =>
        o.type === ApplicationCommandOptionType.Subcommand ||
        o.type === ApplicationCommandOptionType.SubcommandGroup,
    );
    if (!branch) break;
    path.push(branch.name);
    level = branch.options ?? [];
  }
  const options: Record<string, string | undefined> = {};
  for (const o of level) {
    if (o.type === ApplicationCommandOptionType.User)
      options[o.name] = memberName(o) ?? `<@${String(o.value)}>`;
    else if (o.value !== undefined) options[o.name] = String(o.value);
  }
  return { path, options };
}

export function parseIgOptions(input: SlashInput): ParsedCommand {
  return COMMANDS.parseOptions(SLASH, input.path, input.options);
}

// ——— the registered command, from the same registry ———

const MAX_DESCRIPTION = 100;

function description(text: string): string {
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  if (capital.length > MAX_DESCRIPTION) throw new Error(`description over ${MAX_DESCRIPTION}: ${capital}`);
  return capital;
}

function option(name: string, arg: Arg<unknown>): APIApplicationCommandBasicOption {
  const required = !isOptional(SLASH, arg);
  if (arg.picker === "member")
    return {
      type: ApplicationCommandOptionType.User,
      name,
      description: description(arg.description),
      required,
    };
  const base = {
    type: ApplicationCommandOptionType.String,
    name,
    description: description(arg.description),
    required,
  } as const;
  if (arg.choices) return { ...base, choices: arg.choices.map((c) => ({ name: c.label, value: c.value })) };
  const max = arg.maxLength === undefined ? {} : { max_length: arg.maxLength };
  // An open set the core fills as the member types (interactions.ts answers it).
  return arg.complete ? { ...base, ...max, autocomplete: true } : { ...base, ...max };
}

function subcommand(name: string, command: Command): APIApplicationCommandSubcommandOption {
  let summary = command.summary;
  if (command.admin) summary += " (admins)";
  const options = Object.entries(command.args).map(([key, arg]) => option(key, arg));
  // Discord wants every required option before the optional ones.
  options.sort((a, b) => Number(b.required === true) - Number(a.required === true));
  return {
    type: ApplicationCommandOptionType.Subcommand,
    name,
    description: description(summary),
    ...(options.length > 0 ? { options } : {}),
  };
}

/** manifest/discord-commands.json: `/ig` with a subcommand per command it offers, groups as
 * subcommand groups, in the registry's order. */
export function commandManifest(): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  const options: (APIApplicationCommandSubcommandOption | APIApplicationCommandSubcommandGroupOption)[] = [];
  const groups = new Map<string, APIApplicationCommandSubcommandOption[]>();
  for (const command of COMMANDS.offered(SLASH)) {
    const [first, second] = COMMANDS.optionPath(command.name) as [string, string | undefined];
    if (second === undefined) {
      options.push(subcommand(first, command));
      continue;
    }
    let members = groups.get(first);
    if (!members) {
      members = [];
      groups.set(first, members);
      options.push({
        type: ApplicationCommandOptionType.SubcommandGroup,
        name: first,
        description: description(COMMANDS.groups[first] ?? COMMANDS.optionGroups[first]?.summary ?? first),
        options: members,
      });
    }
    members.push(subcommand(second, command));
  }
  options.push({
    type: ApplicationCommandOptionType.Subcommand,
    name: "help",
    description: `What /${SLASH_COMMAND.name} can do`,
  });
  return [
    {
      name: SLASH_COMMAND.name,
      type: 1,
      description: SLASH_COMMAND.description,
      // Manage Messages: a server admin can grant /ig to other roles in the server's settings.
      default_member_permissions: "8192",
      // Servers only (no DMs, no user installs): accounts are routed to server channels.
      contexts: [0],
      integration_types: [0],
      options,
    },
  ];
}
