import type { ChatAdapter, ChatInbox } from "../chat/chat-port.ts";
import { inSpan, SpanKind } from "./spans.ts";

// Spans at the chat port, the one place every platform's calls pass through: each ChatAdapter
// method is a client span (`chat slack post`), each ChatInbox entry (an agent's message, a button)
// a server span that the reply it queues continues. A platform's adapter needs nothing of its own.

/** `adapter` with a client span around each of its methods. */
export function tracedAdapter(adapter: ChatAdapter): ChatAdapter {
  return traced(adapter, (method) => ({
    name: `chat ${adapter.platform} ${method}`,
    kind: SpanKind.CLIENT,
    attributes: { "threadbridge.chat.platform": adapter.platform, "threadbridge.chat.operation": method },
  }));
}

/** `inbox` with a span around each entry an adapter calls (inside the chat request's span, if any). */
export function tracedInbox(inbox: ChatInbox): ChatInbox {
  return traced(inbox, (method) => ({
    name: `chat inbox ${method}`,
    kind: SpanKind.SERVER,
    attributes: { "threadbridge.chat.operation": method },
  }));
}

function traced<T extends object>(
  target: T,
  describe: (method: string) => { name: string; kind: SpanKind; attributes: Record<string, string> },
): T {
  return new Proxy(target, {
    get(obj, key) {
      // Read and called on the target itself: its private fields work as without the proxy.
      const value: unknown = Reflect.get(obj, key);
      if (typeof value !== "function" || typeof key !== "string") return value;
      const { name, kind, attributes } = describe(key);
      return (...args: unknown[]) =>
        inSpan(name, { kind, attributes }, () =>
          Promise.resolve((value as (...a: unknown[]) => unknown).apply(obj, args)),
        );
    },
  });
}
