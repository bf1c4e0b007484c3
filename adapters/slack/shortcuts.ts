// The app's message shortcuts, once: the listeners register these callback ids and
// `npm run manifests` writes this list as `features.shortcuts` of manifest/slack.yaml.

export interface MessageShortcutSpec {
  /** What the message's menu shows (Slack: 24 characters at most). */
  name: string;
  callback_id: string;
  /** Slack: 80 characters at most. */
  description: string;
}

export const SEND_SHORTCUT = {
  name: "Send to Instagram",
  callback_id: "ig_send",
  description: "Send this reply of yours to the customer on Instagram",
} as const satisfies MessageShortcutSpec;

export const SNIPPET_SHORTCUT = {
  name: "Send saved reply",
  callback_id: "ig_snippet",
  description: "Pick a saved reply and send it to this thread's customer as your reply",
} as const satisfies MessageShortcutSpec;

export const QUOTE_SHORTCUT = {
  name: "Quote in reply",
  callback_id: "ig_quote",
  description: "Answer this customer message: Instagram shows your reply quoting it",
} as const satisfies MessageShortcutSpec;

export const MESSAGE_SHORTCUTS: readonly MessageShortcutSpec[] = [
  SEND_SHORTCUT,
  SNIPPET_SHORTCUT,
  QUOTE_SHORTCUT,
];
