// Interactions and commands no listener took. Bolt leaves such a request unanswered and, 3 s later,
// answers Slack 404, so the person who clicked sees an error. This middleware runs around every
// listener: when none acknowledged the request, it acknowledges it (well within Slack's 3 s) and
// tells the person, in a line only they see, that the button, form or command is not one the
// service knows any more. "No listener acknowledged it" is the test, not a list of known ids, so a
// listener added later is never mistaken for an unknown one.

import { type AnyMiddlewareArgs, ErrorCode, type Middleware } from "@slack/bolt";
import { plain } from "./blocks.ts";
import type { ListenerDeps } from "./listener-deps.ts";
import { escapeText } from "./mrkdwn.ts";
import { errorFields } from "./slack-errors.ts";

/** What the person is told, by kind of request. */
export const UNKNOWN_TEXT = {
  button: "This button is no longer active. The message it belongs to may be out of date.",
  form: "This form is no longer active. Close it and start again from the thread.",
  shortcut: "This shortcut is not known to threadbridge.",
  command: (name: string) => `${name} is not a command known to threadbridge. Try /ig help.`,
} as const;

/** How many distinct unknown ids are remembered so each is logged once; past it the memory starts
 * over (ids come from outside, so nothing here may grow without bound). */
const LOGGED_MAX = 256;

interface Unknown {
  /** block_actions, view_submission, shortcut, command… */
  type: string;
  /** The action id, callback id or command name, clipped. */
  id: string;
}

type Body = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined);
const obj = (v: unknown): Body | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Body) : undefined;
const clip = (s: string) => (s.length > 80 ? `${s.slice(0, 79)}…` : s);

function describe(body: Body): Unknown | undefined {
  const command = str(body.command);
  if (command) return { type: "command", id: clip(command) };
  const type = str(body.type);
  if (!type) return undefined;
  const first = Array.isArray(body.actions) ? obj(body.actions[0]) : undefined;
  const view = obj(body.view);
  const id = str(first?.action_id) ?? str(first?.name) ?? str(body.callback_id) ?? str(view?.callback_id);
  return { type: clip(type), id: clip(id ?? "(none)") };
}

function noteView(text: string) {
  return {
    type: "modal" as const,
    title: plain("threadbridge"),
    close: plain("Close"),
    blocks: [{ type: "section" as const, text: { type: "mrkdwn" as const, text: escapeText(text) } }],
  };
}

export function unknownInteractions(deps: ListenerDeps): Middleware<AnyMiddlewareArgs> {
  const logged = new Set<string>();
  const note = (u: Unknown) => {
    const key = `${u.type}:${u.id}`;
    if (logged.has(key)) return;
    if (logged.size >= LOGGED_MAX) logged.clear();
    logged.add(key);
    deps.log.warn(
      { type: u.type, id: u.id },
      "slack request no listener handles; acknowledged and the person told it is no longer active",
    );
  };

  return async (args) => {
    const ack = (args as { ack?: (response?: unknown) => Promise<void> }).ack;
    // Events are acknowledged by Bolt before any middleware runs; only requests Slack waits on
    // (actions, views, shortcuts, commands, options) carry an ack.
    if (!ack) return args.next();
    await args.next();
    const body = args.body as unknown as Body;
    const u = describe(body);
    if (!u) return;
    // A link button opens its page in the browser; Slack still sends the click, which only needs
    // its acknowledgement.
    const first = Array.isArray(body.actions) ? obj(body.actions[0]) : undefined;
    const linkButton = u.type === "block_actions" && str(first?.url) !== undefined;
    const answer = linkButton ? undefined : firstAnswer(u, body);
    try {
      await ack(answer);
    } catch (err) {
      // A listener acknowledged it: it is known, and its listener answered.
      if ((err as { code?: unknown }).code === ErrorCode.ReceiverMultipleAckError) return;
      throw err;
    }
    if (linkButton) return;
    note(u);
    deps.background(`unknown ${u.type}`, () => tellLater(deps, args, u, body));
  };
}

/** What goes into the acknowledgement itself, where Slack shows it. */
function firstAnswer(u: Unknown, body: Body): unknown {
  switch (u.type) {
    case "command":
      return { response_type: "ephemeral", text: escapeText(UNKNOWN_TEXT.command(str(body.command) ?? "")) };
    case "view_submission":
      return { response_action: "update", view: noteView(UNKNOWN_TEXT.form) };
    case "block_suggestion":
    case "dialog_suggestion":
      return { options: [] };
    default:
      return undefined;
  }
}

/** A line only the person sees, after the acknowledgement: through the request's response_url
 * where it has one, else chat.postEphemeral in the channel, else (a global shortcut) a small modal. */
async function tellLater(deps: ListenerDeps, args: AnyMiddlewareArgs, u: Unknown, body: Body) {
  const text =
    u.type === "shortcut" || u.type === "message_action" ? UNKNOWN_TEXT.shortcut : UNKNOWN_TEXT.button;
  switch (u.type) {
    case "block_actions":
    case "interactive_message":
    case "message_action":
    case "shortcut":
      break;
    default:
      // Commands and forms were answered in the acknowledgement; closings and suggestions need none.
      return;
  }
  const respond = (args as { respond?: (m: unknown) => Promise<unknown> }).respond;
  if (respond) {
    try {
      await respond({ response_type: "ephemeral", replace_original: false, text: escapeText(text) });
      return;
    } catch (err) {
      deps.log.warn({ type: u.type, err: errorFields(err) }, "slack response_url answer failed");
    }
  }
  const user = str(obj(body.user)?.id);
  const channel = str(obj(body.channel)?.id) ?? str(obj(body.container)?.channel_id);
  if (user && channel) {
    const message = obj(body.message);
    const threadTs = str(message?.thread_ts);
    try {
      await deps.client.chat.postEphemeral({
        channel,
        user,
        text: escapeText(text),
        ...(threadTs ? { thread_ts: threadTs } : {}),
      });
    } catch (err) {
      deps.log.warn({ type: u.type, err: errorFields(err) }, "slack ephemeral answer failed");
    }
    return;
  }
  const trigger = str(body.trigger_id);
  if (trigger) await deps.client.views.open({ trigger_id: trigger, view: noteView(text) });
}
