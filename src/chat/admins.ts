import { recordAudit } from "../audit/audit-log.ts";
import type { SqlClient } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import type { ActionResult, AgentIdentity } from "./chat-port.ts";
import { type ChatRef, chatKey } from "./ids.ts";

// Who may do the privileged things (pause, delete, forget, export, consent, rules): the people and
// groups of ADMIN_USERS. Everyone else gets a refusal that says how to be added, and the refusal
// is audited, so managers can see who tried.

export class Admins {
  private readonly refs: readonly ChatRef[];
  private readonly db: SqlClient;
  private readonly log: Logger;

  constructor(refs: readonly ChatRef[], db: SqlClient, log: Logger) {
    this.refs = refs;
    this.db = db;
    this.log = log;
  }

  allows(agent: AgentIdentity): boolean {
    if (agent.admin === true) return true;
    // A platform's groups (Slack user groups, Discord roles) arrive as the agent's roles; each ref
    // counts on its own platform only.
    const roles = new Set(agent.roles ?? []);
    return this.refs.some(
      (ref) =>
        ref.platform === agent.platform && (ref.kind === "user" ? ref.id === agent.id : roles.has(ref.id)),
    );
  }

  /** The refusal for `agent`, audited and logged. `what` completes "Only admins may …". */
  async refuse(
    agent: AgentIdentity,
    action: string,
    what: string,
    on: { account?: string; target?: string } = {},
  ): Promise<ActionResult> {
    const who = chatKey(agent.platform, agent.id);
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
