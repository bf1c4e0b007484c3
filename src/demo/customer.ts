import { sign } from "../instagram/signature.ts";
import type { Logger } from "../log/logger.ts";
import type { StandInSend } from "./instagram-stand-in.ts";

// The demo's Instagram side of the conversation: what Instagram would POST to the webhook, signed
// with the app secret as Instagram signs it (X-Hub-Signature-256). A scripted customer writes a DM,
// sends a picture, mentions the brand in a story and comments on a post; every send of the service
// comes back as Instagram's echo; and the first answer an agent gives is replied to (a swipe
// reply, `reply_to`), so the newcomer sees the conversation go on.

export const DEMO_ACCOUNT = { id: "17841400000000420", username: "DEMO_shop" } as const;
export const DEMO_CUSTOMER = {
  id: "1000000000000420",
  name: "Maya DEMO",
  username: "demo_customer",
} as const;
export const DEMO_POST = { id: "17900000000000420", caption: "DEMO post: the summer hoodie drop ☀️" } as const;
const DEMO_COMMENT = "17860000000000420";

/** What the rules of the demo say at the end of their texts: how the script tells them from agents. */
export const RULE_MARK = "(DEMO rule)";

export interface Webhooks {
  /** The service's webhook URL and the secret it checks signatures with. */
  url: string;
  secret: string;
  log: Logger;
}

/** Posts one signed webhook body; true when the service accepted it. */
async function deliver(hooks: Webhooks, body: unknown): Promise<boolean> {
  const raw = Buffer.from(JSON.stringify(body));
  try {
    const res = await fetch(hooks.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hub-signature-256": sign(raw, hooks.secret) },
      body: new Uint8Array(raw),
    });
    if (!res.ok) hooks.log.warn({ status: res.status }, "DEMO webhook refused");
    return res.ok;
  } catch (err) {
    hooks.log.warn({ err: (err as Error).message }, "DEMO webhook not delivered");
    return false;
  }
}

function messaging(from: string, to: string, message: Record<string, unknown>) {
  const now = Date.now();
  return {
    object: "instagram",
    entry: [
      {
        id: DEMO_ACCOUNT.id,
        time: now,
        messaging: [{ sender: { id: from }, recipient: { id: to }, timestamp: now, message }],
      },
    ],
  };
}

let seq = 0;
const mid = () => `aWdfZAG1faXRlbToxOkRFTU9DdXN0b21lcg${++seq}`;

const fromCustomer = (message: Record<string, unknown>) =>
  messaging(DEMO_CUSTOMER.id, DEMO_ACCOUNT.id, { mid: mid(), ...message });

export class DemoCustomer {
  readonly #hooks: Webhooks;
  readonly #media: (name: string) => string;
  readonly #timers = new Set<NodeJS.Timeout>();
  #answered = false;
  #stopped = false;

  constructor(hooks: Webhooks, media: (name: string) => string) {
    this.#hooks = hooks;
    this.#media = media;
  }

  #later(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
    });
  }

  /** The customer's opening: a DM, a picture, a story mention, a comment on a post. */
  async start(pauseMs = 400): Promise<void> {
    const script: unknown[] = [
      fromCustomer({ text: "Hi! Is the DEMO hoodie still available in blue? 💙" }),
      fromCustomer({ attachments: [{ type: "image", payload: { url: this.#media("hoodie") } }] }),
      fromCustomer({ attachments: [{ type: "story_mention", payload: { url: this.#media("story") } }] }),
      {
        object: "instagram",
        entry: [
          {
            id: DEMO_ACCOUNT.id,
            time: Math.floor(Date.now() / 1000),
            changes: [
              {
                field: "comments",
                value: {
                  from: { id: DEMO_CUSTOMER.id, username: DEMO_CUSTOMER.username },
                  media: { id: DEMO_POST.id, media_product_type: "FEED" },
                  id: DEMO_COMMENT,
                  text: "How much is shipping to Porto? (DEMO comment)",
                },
              },
            ],
          },
        ],
      },
    ];
    for (const body of script) {
      if (this.#stopped) return;
      await deliver(this.#hooks, body);
      await this.#later(pauseMs);
    }
  }

  /** A send reached Instagram: it echoes back, and the first agent's answer gets a reply. */
  async sent(send: StandInSend): Promise<void> {
    if (this.#stopped || !send.messageId) return;
    const customer = send.recipient.id ?? DEMO_CUSTOMER.id;
    const message: Record<string, unknown> = { mid: send.messageId, is_echo: true };
    if (send.text !== undefined) message.text = send.text;
    if (send.attachments.length > 0)
      message.attachments = send.attachments.map((a) => ({ type: a.type, payload: { url: a.url } }));
    await deliver(this.#hooks, messaging(DEMO_ACCOUNT.id, customer, message));
    if (this.#answered || send.text === undefined || send.text.includes(RULE_MARK) || !send.recipient.id)
      return;
    this.#answered = true;
    await this.#later(1500);
    if (this.#stopped) return;
    await deliver(
      this.#hooks,
      fromCustomer({
        text: "Great, thank you! I'll order it today. (DEMO reply)",
        reply_to: { mid: send.messageId },
      }),
    );
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
