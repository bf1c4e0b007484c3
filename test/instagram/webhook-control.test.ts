// Conversation Routing items (handover events) parse into dm.control events, under `messaging`
// and, from the dashboard's Test button, as a `messaging_handover` change; ids may be numbers or
// missing; a redelivery keeps its dedupe key.

import { describe, expect, it } from "vitest";
import { parseWebhook } from "../../src/instagram/webhook.ts";

const ACCOUNT = "17841400000000001";
const CUSTOMER = "1234567890123456";

function body(item: Record<string, unknown>) {
  return {
    object: "instagram",
    entry: [
      {
        id: ACCOUNT,
        time: 1_761_287_298_065,
        messaging: [
          { sender: { id: CUSTOMER }, recipient: { id: ACCOUNT }, timestamp: 1_761_287_294_014, ...item },
        ],
      },
    ],
  };
}

describe("handover events", () => {
  it("reads pass, take and request", () => {
    const pass = parseWebhook(
      body({ pass_thread_control: { new_owner_app_id: "111", previous_owner_app_id: 222, metadata: "m" } }),
    );
    const take = parseWebhook(body({ take_thread_control: { previous_owner_app_id: "111" } }));
    const request = parseWebhook(body({ request_thread_control: { requested_owner_app_id: 333 } }));
    if (!pass.ok || !take.ok || !request.ok) throw new Error("rejected");
    expect(pass.records[0]?.event).toEqual({
      type: "dm.control",
      accountId: ACCOUNT,
      customerId: CUSTOMER,
      occurredAt: 1_761_287_294_014,
      action: "pass",
      newOwnerAppId: "111",
      previousOwnerAppId: "222",
      metadata: "m",
    });
    expect(pass.records[0]?.threadKey).toBe(`dm:${CUSTOMER}`);
    expect(take.records[0]?.event).toMatchObject({
      type: "dm.control",
      action: "take",
      previousOwnerAppId: "111",
    });
    expect(request.records[0]?.event).toMatchObject({ action: "request", requestedOwnerAppId: "333" });
    expect(parseWebhook(body({ take_thread_control: { previous_owner_app_id: "111" } }))).toMatchObject({
      records: [{ dedupeKey: take.ok ? take.records[0]?.dedupeKey : "" }],
    });
  });

  it("reads the messaging_handover change shape", () => {
    const r = parseWebhook({
      object: "instagram",
      entry: [
        {
          id: ACCOUNT,
          time: 1_761_287_298,
          changes: [
            {
              field: "messaging_handover",
              value: {
                sender: { id: CUSTOMER },
                recipient: { id: ACCOUNT },
                timestamp: 1_761_287_294,
                pass_thread_control: { new_owner_app_id: "111" },
              },
            },
          ],
        },
      ],
    });
    if (!r.ok) throw new Error(r.reason);
    expect(r.records[0]?.event).toMatchObject({ type: "dm.control", action: "pass", newOwnerAppId: "111" });
  });
});
