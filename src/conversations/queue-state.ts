import type { ConversationStatus, QueueState } from "../chat/chat-port.ts";

// Where a conversation stands in the team's queue, from what the bridge already records: its
// status (agents' close, snooze, reopen) and who spoke last. Pure, so the root, `/ig queue` and
// the tests agree on one definition.

export interface QueueFacts {
  status: ConversationStatus;
  /** The customer's last message. */
  lastCustomerAt: Date | null;
  /** The business's last message (an agent's reply, a rule's, one sent from Instagram's app). */
  lastBusinessAt: Date | null;
}

export function queueState(f: QueueFacts): QueueState {
  if (f.status === "closed") return "closed";
  if (f.status === "snoozed") return "snoozed";
  const customer = f.lastCustomerAt?.getTime();
  const business = f.lastBusinessAt?.getTime();
  // Nobody of the business has written yet: a conversation no one has picked up.
  if (business === undefined) return customer === undefined ? "waiting_on_customer" : "new";
  if (customer === undefined || business >= customer) return "waiting_on_customer";
  return "waiting_on_us";
}

/** How the root and `/ig queue` name a state. */
export const QUEUE_STATE_LABELS: Record<QueueState, string> = {
  new: "new",
  waiting_on_us: "waiting on us",
  waiting_on_customer: "waiting on the customer",
  snoozed: "snoozed",
  closed: "closed",
};
