// The fake Discord driven by the real discord.js Client: if these pass, the adapter's tests talk to
// something discord.js itself accepts as Discord.

import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  Client,
  DiscordAPIError,
  Events,
  type ForumChannel,
  GatewayIntentBits,
  MessageFlags,
  ModalBuilder,
  RESTEvents,
  Routes,
  type TextChannel,
  TextInputBuilder,
  TextInputStyle,
} from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectDiscordClient,
  fakeDiscordClientOptions,
  nextDiscordEvent,
  waitFor,
} from "../helpers/discord.ts";
import { type DiscordServer, startDiscordServer } from "./discord-server.ts";

const TEXT = "100000000000000001";
const FORUM = "100000000000000002";
const AGENT = "400000000000000001";

let server: DiscordServer;
let client: Client;

beforeAll(async () => {
  server = await startDiscordServer({
    channels: [
      { id: TEXT, name: "instagram", type: "text" },
      { id: FORUM, name: "instagram-forum", type: "forum" },
    ],
    roles: [{ id: "500000000000000001", name: "agents" }],
  });
  server.addUser({ id: AGENT, username: "agent", globalName: "Agent A", roles: ["500000000000000001"] });
  client = await connectDiscordClient(server);
});

afterAll(async () => {
  await client?.destroy();
  await server?.close();
});

async function textChannel(): Promise<TextChannel> {
  const channel = await client.channels.fetch(TEXT);
  if (channel?.type !== ChannelType.GuildText) throw new Error("text channel missing");
  return channel;
}

describe("fake Discord with the real discord.js Client", () => {
  it("logs in: gateway/bot, plain JSON gateway, READY then GUILD_CREATE with the channels", () => {
    expect(client.isReady()).toBe(true);
    expect(client.user?.id).toBe(server.botUserId);
    expect(client.application?.id).toBe(server.applicationId);
    expect(server.callsOf("GET", /^\/gateway\/bot$/)).toHaveLength(1);
    expect(server.gatewayConnections()[0]?.query).toBe("v=10&encoding=json");
    expect(client.channels.cache.get(TEXT)?.type).toBe(ChannelType.GuildText);
    expect(client.channels.cache.get(FORUM)?.type).toBe(ChannelType.GuildForum);
    expect(client.guilds.cache.get(server.guildId)?.roles.cache.has("500000000000000001")).toBe(true);
    expect(server.sessions()).toEqual({ identifies: 1, resumes: 0, connected: 1 });
  });

  it("creates a thread over REST and sees a user's message in it with content", async () => {
    const channel = await textChannel();
    const thread = await channel.threads.create({ name: "@alice · DM", type: ChannelType.PublicThread });
    expect(server.channel(thread.id)).toMatchObject({ type: 11, parentId: TEXT, name: "@alice · DM" });
    const seen = nextDiscordEvent(client, Events.MessageCreate, (m) => m.channelId === thread.id);
    const posted = await server.userMessage(thread.id, { authorId: AGENT, content: "hello from the agent" });
    const [message] = await seen;
    expect(message.id).toBe(posted.id);
    expect(message.content).toBe("hello from the agent");
    expect(message.author.bot).toBe(false);
    expect(message.channel.isThread()).toBe(true);
    expect(message.member?.roles.cache.has("500000000000000001")).toBe(true);
  });

  it("serves a user's attachment at its URL", async () => {
    const posted = await server.userMessage(TEXT, {
      authorId: AGENT,
      content: "a photo",
      attachments: [{ filename: "p.png", contentType: "image/png", data: Buffer.from("PNGDATA") }],
    });
    const url = posted.attachments[0]?.url ?? "";
    const res = await fetch(url);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe("PNGDATA");
  });

  it("executes a webhook into a thread with username, avatar and wait=true", async () => {
    const channel = await textChannel();
    const thread = await channel.threads.create({ name: "webhook thread", type: ChannelType.PublicThread });
    const webhook = await channel.createWebhook({ name: "threadbridge" });
    expect(webhook.token).toBeTruthy();
    const sent = await webhook.send({
      content: "from instagram",
      username: "alice (Instagram)",
      avatarURL: "https://cdn.example/alice.jpg",
      threadId: thread.id,
    });
    expect(sent.webhookId).toBe(webhook.id);
    expect(sent.author.username).toBe("alice (Instagram)");
    const call = server.callsOf("POST", /^\/webhooks\/\d+\/[^/]+$/).at(-1);
    expect(call?.query).toMatchObject({ wait: "true", thread_id: thread.id });
    expect(server.message(thread.id, sent.id)).toMatchObject({
      username: "alice (Instagram)",
      avatarUrl: "https://cdn.example/alice.jpg",
      webhookId: webhook.id,
    });
    await expect(
      webhook.send({ content: "x", username: "Discord fan", threadId: thread.id }),
    ).rejects.toMatchObject({
      status: 400,
      code: 50035,
    });
  });

  it("creates a forum post: thread plus starter message with the same id, and tags", async () => {
    const forum = (await client.channels.fetch(FORUM)) as ForumChannel;
    const updated = await forum.setAvailableTags([{ name: "DM" }, { name: "Comment" }]);
    const dm = updated.availableTags.find((t) => t.name === "DM");
    expect(dm?.id).toMatch(/^\d+$/);
    const thread = await forum.threads.create({
      name: "@bob · DM",
      message: { content: "first message" },
      appliedTags: [dm?.id ?? ""],
    });
    expect(server.channel(thread.id)?.appliedTags).toEqual([dm?.id]);
    const starter = server.message(thread.id, thread.id);
    expect(starter?.content).toBe("first message");
    expect((await thread.fetchStarterMessage())?.content).toBe("first message");
    await expect(
      forum.threads.create({ name: "x".repeat(101), message: { content: "y" } }),
    ).rejects.toBeInstanceOf(DiscordAPIError);
  });

  it("delivers edits and deletions", async () => {
    const posted = await server.userMessage(TEXT, { authorId: AGENT, content: "before" });
    const updated = nextDiscordEvent(client, Events.MessageUpdate, (_o, n) => n.id === posted.id);
    await server.userEdit(TEXT, posted.id, "after");
    const [, newMessage] = await updated;
    expect(newMessage.content).toBe("after");
    const deleted = nextDiscordEvent(client, Events.MessageDelete, (m) => m.id === posted.id);
    await server.userDelete(TEXT, posted.id);
    await deleted;
    expect(server.message(TEXT, posted.id)?.deleted).toBe(true);
  });

  it("rejects content over 2000 characters with DiscordAPIError 50035", async () => {
    const channel = await textChannel();
    const error = await channel.send("x".repeat(2001)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect(error).toMatchObject({ status: 400, code: 50035 });
  });

  it("routes button clicks, modals and slash commands to interactionCreate and records replies", async () => {
    const channel = await textChannel();
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId("hide:1").setLabel("Hide").setStyle(ButtonStyle.Danger),
      new ButtonBuilder().setCustomId("note:1").setLabel("Note").setStyle(ButtonStyle.Secondary),
    );
    const withButtons = await channel.send({ content: "a comment", components: [row] });

    client.on(Events.InteractionCreate, async (interaction) => {
      if (interaction.isButton() && interaction.customId === "hide:1") {
        await interaction.reply({
          content: `hidden by ${interaction.user.id}`,
          flags: MessageFlags.Ephemeral,
        });
      } else if (interaction.isButton() && interaction.customId === "note:1") {
        const modal = new ModalBuilder().setCustomId("note-modal").setTitle("Note");
        modal.addComponents(
          new ActionRowBuilder<TextInputBuilder>().addComponents(
            new TextInputBuilder().setCustomId("text").setLabel("Text").setStyle(TextInputStyle.Paragraph),
          ),
        );
        await interaction.showModal(modal);
      } else if (interaction.isModalSubmit()) {
        await interaction.deferReply({ flags: MessageFlags.Ephemeral });
        await interaction.editReply(`noted: ${interaction.fields.getTextInputValue("text")}`);
      } else if (interaction.isChatInputCommand()) {
        await interaction.reply(
          `${interaction.commandName} ${interaction.options.getString("comment") ?? ""}`,
        );
      }
    });

    const click = await server.clickButton(TEXT, withButtons.id, "hide:1", AGENT);
    expect(await click.waitForResponse()).toMatchObject({
      kind: "callback",
      type: 4,
      data: { content: `hidden by ${AGENT}`, flags: 64 },
    });

    const open = await server.clickButton(TEXT, withButtons.id, "note:1", AGENT);
    expect(await open.waitForResponse()).toMatchObject({ type: 9, data: { custom_id: "note-modal" } });
    const submit = await server.submitModal(TEXT, "note-modal", { text: "call back tomorrow" }, AGENT);
    const [deferred, edited] = await submit.waitForResponses(2);
    expect(deferred).toMatchObject({ type: 5, data: { flags: 64 } });
    expect(edited).toMatchObject({ kind: "edit_original", data: { content: "noted: call back tomorrow" } });

    await client.application?.commands.set(
      [
        {
          name: "ig-hide",
          description: "Hide the comment",
          options: [{ name: "comment", description: "id", type: 3 }],
        },
      ],
      server.guildId,
    );
    expect(server.commands(server.guildId).map((c) => c.body.name)).toEqual(["ig-hide"]);
    const slash = await server.slashCommand(
      TEXT,
      "ig-hide",
      [{ name: "comment", type: 3, value: "c1" }],
      AGENT,
    );
    expect(await slash.waitForResponse()).toMatchObject({ type: 4, data: { content: "ig-hide c1" } });
    expect(server.messages(TEXT).at(-1)?.content).toBe("ig-hide c1");
  });

  it("unarchives a thread on post, refuses a locked archived one with 50083", async () => {
    const channel = await textChannel();
    const thread = await channel.threads.create({ name: "old", type: ChannelType.PublicThread });
    await thread.setArchived(true);
    expect(server.channel(thread.id)?.archived).toBe(true);
    await thread.send("back again");
    expect(server.channel(thread.id)).toMatchObject({ archived: false, unarchives: 1 });
    await server.archiveThread(thread.id, { locked: true });
    await expect(thread.send("nope")).rejects.toMatchObject({ status: 403, code: 50083 });
  });

  it("rate-limits with 429 that @discordjs/rest waits out, and retries programmed 500s", async () => {
    const channel = await textChannel();
    server.setRateLimit(/^\/channels\/\d+\/typing$/, { remainingBeforeLimit: 1, retryAfterMs: 150 });
    const limited = new Promise((resolve) => client.rest.once(RESTEvents.RateLimited, resolve));
    await channel.sendTyping();
    await channel.sendTyping();
    await limited;
    const statuses = server.callsOf("POST", /\/typing$/).map((c) => c.status);
    expect(statuses).toEqual([204, 429, 204]);

    server.failNext(1, { status: 500, path: /^\/channels\/\d+\/messages$/ });
    const sent = await channel.send("after a 500");
    expect(sent.content).toBe("after a 500");
    expect(
      server
        .callsOf("POST", /^\/channels\/\d+\/messages$/)
        .slice(-2)
        .map((c) => c.status),
    ).toEqual([500, 200]);
  });

  it("resumes after a resumable drop and replays what was sent meanwhile", async () => {
    const resumed = nextDiscordEvent(client, Events.ShardResume);
    server.dropConnections({ resumable: true });
    const posted = await server.userMessage(TEXT, { authorId: AGENT, content: "sent while dropped" });
    const seen = nextDiscordEvent(client, Events.MessageCreate, (m) => m.id === posted.id);
    await resumed;
    expect((await seen)[0].content).toBe("sent while dropped");
    expect(server.sessions()).toEqual({ identifies: 1, resumes: 1, connected: 1 });
  });

  it("re-identifies after a non-resumable drop", async () => {
    server.dropConnections({ resumable: false });
    await waitFor(() => server.sessions().identifies === 2 && server.sessions().connected === 1);
    const seen = nextDiscordEvent(client, Events.MessageCreate, (m) => m.content === "after re-identify");
    await server.userMessage(TEXT, { authorId: AGENT, content: "after re-identify" });
    await seen;
    expect(server.sessions()).toMatchObject({ identifies: 2, resumes: 1 });
  });
});

describe("fake Discord REST details", () => {
  it("keeps a command's default member permissions, and refuses one that is not a string bitfield", async () => {
    const route = Routes.applicationGuildCommands(server.applicationId, server.guildId);
    const command = { name: "mod", description: "moderators only", contexts: [0] };
    await client.rest.put(route, { body: [{ ...command, default_member_permissions: "8192" }] });
    expect(server.commands(server.guildId).map((c) => c.body.default_member_permissions)).toEqual(["8192"]);
    await expect(
      client.rest.put(route, { body: [{ ...command, default_member_permissions: 8192 }] }),
    ).rejects.toMatchObject({ status: 400, code: 50035 });
    expect(server.commands(server.guildId).map((c) => c.body.default_member_permissions)).toEqual(["8192"]);
  });

  it("lists messages newest first with after/before, and answers 404 10003/10008", async () => {
    const channel = await textChannel();
    const thread = await channel.threads.create({ name: "history", type: ChannelType.PublicThread });
    const ids: string[] = [];
    for (const n of [1, 2, 3, 4]) ids.push((await thread.send(`m${n}`)).id);
    const all = await thread.messages.fetch({ limit: 10 });
    expect([...all.values()].map((m) => m.content)).toEqual(["m4", "m3", "m2", "m1"]);
    const after = await thread.messages.fetch({ after: ids[1] ?? "", limit: 1 });
    expect([...after.values()].map((m) => m.content)).toEqual(["m3"]);
    const before = await thread.messages.fetch({ before: ids[2] ?? "" });
    expect([...before.values()].map((m) => m.content)).toEqual(["m2", "m1"]);
    await expect(client.channels.fetch("999")).rejects.toMatchObject({ status: 404, code: 10003 });
    await expect(thread.messages.fetch("999")).rejects.toMatchObject({ status: 404, code: 10008 });
  });

  it("uploads files as multipart, reacts with unicode and custom emoji", async () => {
    const channel = await textChannel();
    const sent = await channel.send({
      content: "with file",
      files: [{ attachment: Buffer.from("hi"), name: "a.txt" }],
    });
    const call = server.callsOf("POST", /^\/channels\/\d+\/messages$/).at(-1);
    expect(call?.body).toMatchObject({ content: "with file" });
    expect(call?.files[0]).toMatchObject({ filename: "a.txt" });
    expect(sent.attachments.first()?.name).toBe("a.txt");
    await sent.react("✅");
    await sent.react("ig:123456789012345678");
    expect([...(server.message(TEXT, sent.id)?.reactions.keys() ?? [])]).toEqual([
      "✅",
      "ig:123456789012345678",
    ]);
    expect(server.callsOf("PUT", /reactions\/.+\/@me$/).at(-1)?.path).toContain("ig%3A123456789012345678");
    await sent.reactions.cache.get("✅")?.users.remove(server.botUserId);
    expect(server.message(TEXT, sent.id)?.reactions.has("✅")).toBe(false);
  });

  it("keeps a file's alt text and refuses embeds past Discord's limits", async () => {
    const channel = await textChannel();
    const sent = await channel.send({
      embeds: [{ title: "chart", image: { url: "attachment://c.png" } }],
      files: [{ attachment: Buffer.from("png"), name: "c.png", description: "bars per hour" }],
    });
    expect(server.message(TEXT, sent.id)?.attachments.map((a) => [a.filename, a.description])).toEqual([
      ["c.png", "bars per hour"],
    ]);
    expect(sent.attachments.first()?.description).toBe("bars per hour");
    const refused = async (embed: Record<string, unknown>) =>
      channel.send({ embeds: [embed] }).then(
        () => "sent",
        (err: { code?: number; rawError?: { errors?: unknown } }) => JSON.stringify(err.rawError?.errors),
      );
    const fields = (n: number, value = "v") =>
      Array.from({ length: n }, (_, i) => ({ name: `f${i}`, value }));
    expect(await refused({ fields: fields(25) })).toBe("sent");
    expect(await refused({ fields: fields(26) })).toContain("BASE_TYPE_MAX_LENGTH");
    expect(await refused({ fields: fields(1, "x".repeat(1025)) })).toContain('"value"');
    expect(await refused({ title: "x".repeat(257) })).toContain('"title"');
    expect(await refused({ description: "x".repeat(4097) })).toContain('"description"');
    expect(await refused({ footer: { text: "x".repeat(2049) } })).toContain('"footer"');
  });

  it("edits and deletes webhook messages in a thread; forum webhooks need thread_name or thread_id", async () => {
    const channel = await textChannel();
    const thread = await channel.threads.create({ name: "wh edit", type: ChannelType.PublicThread });
    const webhook = await channel.createWebhook({ name: "threadbridge" });
    const sent = await webhook.send({ content: "v1", threadId: thread.id });
    const updated = nextDiscordEvent(client, Events.MessageUpdate, (_o, n) => n.id === sent.id);
    await webhook.editMessage(sent.id, { content: "v2", threadId: thread.id });
    expect((await updated)[1].content).toBe("v2");
    await webhook.deleteMessage(sent.id, thread.id);
    expect(server.message(thread.id, sent.id)?.deleted).toBe(true);

    const forum = (await client.channels.fetch(FORUM)) as ForumChannel;
    const forumHook = await forum.createWebhook({ name: "threadbridge" });
    await expect(forumHook.send({ content: "x" })).rejects.toMatchObject({ code: 220001 });
    const post = await forumHook.send({ content: "starter", threadName: "@carol · comment" });
    expect(server.channel(post.channelId)).toMatchObject({ parentId: FORUM, name: "@carol · comment" });
    expect(post.id).toBe(post.channelId);
  });

  it("keeps ephemeral replies out of the channel and refuses a second acknowledgement", async () => {
    const channel = await textChannel();
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId("twice").setLabel("Twice").setStyle(ButtonStyle.Primary),
    );
    const msg = await channel.send({ content: "buttons", components: [row] });
    const errors: unknown[] = [];
    const handler = async (i: import("discord.js").Interaction): Promise<void> => {
      if (!i.isButton() || i.customId !== "twice") return;
      await i.update({ content: "updated", components: [] });
      // discord.js refuses locally once `replied`; go to REST directly to see Discord's answer.
      await client.rest
        .post(`/interactions/${i.id}/${i.token}/callback`, { body: { type: 6 }, auth: false })
        .catch((e: unknown) => errors.push(e));
    };
    client.on(Events.InteractionCreate, handler);
    const click = await server.clickButton(TEXT, msg.id, "twice", AGENT);
    expect(await click.waitForResponse()).toMatchObject({ type: 7, data: { content: "updated" } });
    await waitFor(() => errors.length > 0);
    client.off(Events.InteractionCreate, handler);
    expect(errors[0]).toMatchObject({ status: 400, code: 40060 });
    expect(server.message(TEXT, msg.id)).toMatchObject({ content: "updated", components: [] });
  });

  it("answers autocomplete with choices (at most 25) through discord.js, refusing them to other interactions", async () => {
    const offered: string[] = [];
    const handler = async (i: import("discord.js").Interaction): Promise<void> => {
      if (i.isAutocomplete()) {
        const focused = i.options.getFocused(true);
        offered.push(`${i.options.getSubcommand()}:${focused.name}=${String(focused.value)}`);
        const many = Array.from({ length: 26 }, (_, n) => ({ name: `n${n}`, value: `v${n}` }));
        await client.rest
          .post(`/interactions/${i.id}/${i.token}/callback`, {
            body: { type: 8, data: { choices: many } },
            auth: false,
          })
          .catch((e: unknown) => offered.push(`refused ${(e as { code: number }).code}`));
        await i.respond([{ name: "thanks · Thank you!", value: "thanks" }]);
      } else if (i.isChatInputCommand()) {
        await client.rest
          .post(`/interactions/${i.id}/${i.token}/callback`, {
            body: { type: 8, data: { choices: [] } },
            auth: false,
          })
          .catch((e: unknown) => offered.push(`command refused ${(e as { status: number }).status}`));
      }
    };
    client.on(Events.InteractionCreate, handler);
    const typing = await server.autocomplete(
      TEXT,
      "ig",
      [{ name: "snippet", type: 1, options: [{ name: "name", type: 3, value: "th", focused: true }] }],
      AGENT,
    );
    expect(await typing.waitForResponse()).toMatchObject({
      kind: "callback",
      type: 8,
      data: { choices: [{ name: "thanks · Thank you!", value: "thanks" }] },
    });
    await server.slashCommand(TEXT, "ig", [{ name: "status", type: 1, options: [] }], AGENT);
    await waitFor(() => offered.length === 3);
    client.off(Events.InteractionCreate, handler);
    expect(offered).toEqual(["snippet:name=th", "refused 50035", "command refused 400"]);
  });

  it("opens a direct message with a user and keeps the bot's messages there; 50007 when they take none", async () => {
    server.addUser({ id: "400000000000000009", username: "closed", dmsClosed: true });
    const dm = (await client.rest.post(Routes.userChannels(), { body: { recipient_id: AGENT } })) as {
      id: string;
    };
    const again = (await client.rest.post(Routes.userChannels(), { body: { recipient_id: AGENT } })) as {
      id: string;
    };
    expect(again.id).toBe(dm.id);
    await client.rest.post(Routes.channelMessages(dm.id), { body: { content: "only for you" } });
    expect(server.directMessages(AGENT).map((m) => m.content)).toEqual(["only for you"]);
    const closed = (await client.rest.post(Routes.userChannels(), {
      body: { recipient_id: "400000000000000009" },
    })) as { id: string };
    const refused = await client.rest
      .post(Routes.channelMessages(closed.id), { body: { content: "hello?" } })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DiscordAPIError);
    expect(refused).toMatchObject({ status: 403, code: 50007 });
    expect(server.directMessages("400000000000000009")).toEqual([]);
  });

  it("withholds content from a client without the MessageContent intent", async () => {
    const other = await connectDiscordClient(server, {
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages],
    });
    try {
      const seen = nextDiscordEvent(other, Events.MessageCreate, (m) => m.author.id === AGENT);
      await server.userMessage(TEXT, { authorId: AGENT, content: "secret" });
      expect((await seen)[0].content).toBe("");
    } finally {
      await other.destroy();
    }
  });

  it("refuses a bad token with 401 (discord.js: TokenInvalid)", async () => {
    const bad = new Client(fakeDiscordClientOptions(server));
    await expect(bad.login("not-the-token")).rejects.toMatchObject({ code: "TokenInvalid" });
    await bad.destroy();
  });

  it("resumes on op 7 RECONNECT and re-identifies when the session was invalidated", async () => {
    const before = server.sessions();
    const resumed = nextDiscordEvent(client, Events.ShardResume);
    server.requestReconnect();
    await resumed;
    expect(server.sessions().resumes).toBe(before.resumes + 1);
    server.invalidateSessions();
    server.dropConnections({ resumable: true });
    await waitFor(
      () => server.sessions().identifies === before.identifies + 1 && server.sessions().connected >= 1,
    );
    const seen = nextDiscordEvent(client, Events.MessageCreate, (m) => m.content === "after invalid session");
    await server.userMessage(TEXT, { authorId: AGENT, content: "after invalid session" });
    await seen;
  });
});
