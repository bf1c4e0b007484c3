// Instagram's messaging windows (DESIGN.md "The rules of Instagram"; reference 2.6): a reply within
// 24 h of the customer's last message is a RESPONSE; from 24 h to 7 days only a human may answer,
// with the HUMAN_AGENT tag, and only when the app has that feature; later nobody may.

/** The Instagram messaging window of a DM conversation, as agents need to see it. */
export type WindowState =
  /** Within 24 h of the customer's last message: anyone (and automation) may reply. */
  | { kind: "open"; until: Date }
  /** 24 h to 7 days: only a human, with the HUMAN_AGENT tag (when the app has that feature). */
  | { kind: "human_agent"; until: Date }
  /** Nothing can be sent until the customer writes again. */
  | { kind: "closed"; since?: Date }
  /** The customer has not written yet (the business wrote first, from Instagram). */
  | { kind: "none" };

const HOUR = 3_600_000;
export const STANDARD_WINDOW_MS = 24 * HOUR;
export const HUMAN_AGENT_WINDOW_MS = 7 * 24 * HOUR;
/** Private replies: within 7 days of the comment. */
export const PRIVATE_REPLY_WINDOW_MS = 7 * 24 * HOUR;

export function windowState(
  lastCustomerMessageAt: Date | null | undefined,
  now: Date,
  humanAgentEnabled: boolean,
): WindowState {
  if (!lastCustomerMessageAt) return { kind: "none" };
  const t = lastCustomerMessageAt.getTime();
  if (now.getTime() < t + STANDARD_WINDOW_MS)
    return { kind: "open", until: new Date(t + STANDARD_WINDOW_MS) };
  if (humanAgentEnabled && now.getTime() < t + HUMAN_AGENT_WINDOW_MS)
    return { kind: "human_agent", until: new Date(t + HUMAN_AGENT_WINDOW_MS) };
  return {
    kind: "closed",
    since: new Date(t + (humanAgentEnabled ? HUMAN_AGENT_WINDOW_MS : STANDARD_WINDOW_MS)),
  };
}

export type Sender = "human" | "automation";

export type SendPermission =
  | { ok: true; messagingType: "RESPONSE" }
  | { ok: true; messagingType: "MESSAGE_TAG"; tag: "HUMAN_AGENT" }
  | { ok: false; reason: string };

/** Whether `sender` may message the customer now, and how the message must be tagged. The
 * HUMAN_AGENT tag is only ever given to a human's reply. */
export function sendPermission(window: WindowState, sender: Sender): SendPermission {
  switch (window.kind) {
    case "open":
      return { ok: true, messagingType: "RESPONSE" };
    case "human_agent":
      return sender === "human"
        ? { ok: true, messagingType: "MESSAGE_TAG", tag: "HUMAN_AGENT" }
        : { ok: false, reason: "the 24-hour window has closed; automation may not use the human-agent tag" };
    case "closed":
      return {
        ok: false,
        reason: "the messaging window has closed; the customer must write again before anyone can reply",
      };
    case "none":
      return { ok: false, reason: "the customer has not written yet; Instagram only allows replies" };
  }
}
