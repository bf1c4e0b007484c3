import { recordAudit } from "../audit/audit-log.ts";
import type { SqlClient } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import type { ActionResult, AgentIdentity } from "./chat-port.ts";

// Who may do the privileged things (pause, delete, forget, export, consent, rules): the people and
// groups of ADMIN_USERS. Everyone else gets a refusal that says how to be added, and the refusal
// is audited, so managers can see who tried.

export class Admins {
  private readonly ids: ReadonlySet<string>;
  private readonly db: SqlClient;
  private readonly log: Logger;

  constructor(ids: Iterable<string>, db: SqlClient, log: Logger) {
    this.ids = new Set(ids);
    this.db = db;
    this.log = log;
  }

  allows(agent: AgentIdentity): boolean {
    if (this.ids.has(`${agent.platform}:${agent.id}`)) return true;
    // Discord roles and Slack user groups arrive as the agent's roles.
    const prefix = agent.platform === "slack" ? "slack-group" : "discord-role";
    return (agent.roles ?? []).some((role) => this.ids.has(`${prefix}:${role}`));
  }

  /** The refusal for `agent`, audited and logged. `what` completes "Only admins may …". */
  async refuse(
    agent: AgentIdentity,
    action: string,
    what: string,
    on: { account?: string; target?: string } = {},
  ): Promise<ActionResult> {
    const who = `${agent.platform}:${agent.id}`;
    await recordAudit(this.db, {
      actor: { kind: "agent", id: who },
      account: on.account,
      action: "refused",
      target: on.target ?? action,
      details: { action },
    });
    this.log.warn({ agent: who, action }, "privileged action refused");
    return {
      ok: false,
      text: `Only admins may ${what}. An operator can add you to ADMIN_USERS as ${who}.`,
    };
  }
}
