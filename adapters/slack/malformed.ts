// What Bolt needs of a request body to route it. A signed body without it (a broken client, a
// fuzzer) makes Bolt itself throw before any listener runs; answering that with 500 would make
// Slack retry it. It gets a 400 and a log line instead, while a listener's own failure (the core
// could not store an agent's message) keeps its 500, so Slack delivers it again.

const INTERACTIONS = new Set([
  "block_actions",
  "block_suggestion",
  "view_submission",
  "view_closed",
  "message_action",
  "shortcut",
  "interactive_message",
  "dialog_submission",
]);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Why this (signature-checked, parsed) body cannot be routed, or undefined when it can. */
export function malformedSlackBody(body: unknown): string | undefined {
  if (!isObject(body)) return "the body is not an object";
  if (typeof body.command === "string")
    return typeof body.user_id === "string" && typeof body.channel_id === "string"
      ? undefined
      : "a slash command without user_id or channel_id";
  if (body.type === "event_callback")
    return isObject(body.event) && typeof body.event.type === "string"
      ? undefined
      : "an event without event.type";
  if (typeof body.type === "string" && INTERACTIONS.has(body.type)) {
    if (!isObject(body.user) || typeof body.user.id !== "string") return `a ${body.type} without user.id`;
    // Bolt reads channel.id whenever a channel is there at all (modal actions have none).
    if ("channel" in body && !(isObject(body.channel) && typeof body.channel.id === "string"))
      return `a ${body.type} whose channel has no id`;
    if (body.type.startsWith("view_") && !isObject(body.view)) return `a ${body.type} without a view`;
    if (body.type === "message_action" && !(isObject(body.channel) && typeof body.channel.id === "string"))
      return "a message shortcut without channel.id";
    if (body.type === "message_action" && !isObject(body.message))
      return "a message shortcut without its message";
    return undefined;
  }
  return typeof body.type === "string" ? undefined : "a body without a type";
}
