import { type AuditEntry, recordAudit } from "../../audit/audit-log.ts";
import type { SqlClient } from "../../db/database.ts";

// Named console users (migrations/20261225000000_console_users.ts): who may sign in to the console
// with a name and password besides the shared CONSOLE_PASSWORD_HASH, with the name the web inbox
// shows for them and whether they are an admin there. Managed from the command line
// (`threadbridge console users …`, src/cli/console-command.ts); every change is audited, and no
// password or hash ever reaches a log or the audit trail.

export type ConsoleRole = "admin" | "agent";

export interface ConsoleUser {
  name: string;
  displayName: string;
  role: ConsoleRole;
  createdAt: Date;
  disabledAt: Date | null;
  /** Grows with each password change and disabling: sessions of an older one end. */
  generation: number;
}

/** The user of the shared password (CONSOLE_PASSWORD_HASH): reserved, never a named user. */
export const SHARED_USER = "admin";

/** Lower-case letters and digits, dots and dashes inside, 1 to 32 characters: safe in a URL, an
 * ADMIN_USERS entry (`web:NAME`) and a log line. */
export const USER_NAME = /^[a-z0-9](?:[a-z0-9.-]{0,30}[a-z0-9])?$/;
export const DISPLAY_NAME_MAX = 64;

/** Why `name` cannot be a console user's name; undefined when it can. */
export function userNameProblem(name: string): string | undefined {
  if (name === SHARED_USER)
    return `${SHARED_USER} is the shared password's user (CONSOLE_PASSWORD_HASH); pick another name`;
  if (!USER_NAME.test(name))
    return `not a user name: ${JSON.stringify(name.slice(0, 40))} (1 to 32 lower-case letters, digits, dots and dashes, starting and ending with a letter or digit)`;
  return undefined;
}

/** Why `display` cannot be shown as a person's name; undefined when it can. */
export function displayNameProblem(display: string): string | undefined {
  if (display.trim() === "") return "the display name is empty";
  if ([...display].length > DISPLAY_NAME_MAX)
    return `the display name is longer than ${DISPLAY_NAME_MAX} characters`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u001f\u007f]/.test(display)) return "the display name holds control characters";
  return undefined;
}

interface Row {
  name: string;
  display_name: string;
  role: string;
  created_at: Date;
  disabled_at: Date | null;
  generation: number;
}

const COLUMNS = "name, display_name, role, created_at, disabled_at, generation";

function user(r: Row): ConsoleUser {
  return {
    name: r.name,
    displayName: r.display_name,
    role: r.role === "admin" ? "admin" : "agent",
    createdAt: new Date(r.created_at),
    disabledAt: r.disabled_at ? new Date(r.disabled_at) : null,
    generation: Number(r.generation),
  };
}

type Actor = AuditEntry["actor"];

const audit = (db: SqlClient, actor: Actor, action: string, name: string, details = {}) =>
  recordAudit(db, { actor, action, target: `console:${name}`, details });

/** Every user, by name. */
export async function listUsers(db: SqlClient): Promise<ConsoleUser[]> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM console_users ORDER BY name`);
  return rows.map(user);
}

/** The enabled users, by name: the web inbox's people. */
export async function enabledUsers(db: SqlClient): Promise<ConsoleUser[]> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM console_users WHERE disabled_at IS NULL ORDER BY name`,
  );
  return rows.map(user);
}

export async function findUser(db: SqlClient, name: string): Promise<ConsoleUser | undefined> {
  if (!USER_NAME.test(name)) return undefined;
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM console_users WHERE name = $1`, [name]);
  return rows[0] ? user(rows[0]) : undefined;
}

/** The user and their password hash, for sign-in only. */
export async function credentialsOf(
  db: SqlClient,
  name: string,
): Promise<{ user: ConsoleUser; hash: string } | undefined> {
  if (!USER_NAME.test(name)) return undefined;
  const { rows } = await db.query<Row & { password_hash: string }>(
    `SELECT ${COLUMNS}, password_hash FROM console_users WHERE name = $1`,
    [name],
  );
  const r = rows[0];
  return r ? { user: user(r), hash: r.password_hash } : undefined;
}

/** Whether any user exists (enabled or not): the sign-in form then asks for a name. */
export async function anyUsers(db: SqlClient): Promise<boolean> {
  const { rows } = await db.query("SELECT 1 FROM console_users LIMIT 1");
  return rows.length > 0;
}

export class UserExists extends Error {}

/** Adds a user; throws UserExists when the name is taken. `passwordHash` from password.ts. */
export async function addUser(
  db: SqlClient,
  u: { name: string; displayName: string; role: ConsoleRole; passwordHash: string },
  actor: Actor,
): Promise<ConsoleUser> {
  const problem = userNameProblem(u.name) ?? displayNameProblem(u.displayName);
  if (problem) throw new Error(problem);
  const { rows } = await db.query<Row>(
    `INSERT INTO console_users (name, display_name, password_hash, role) VALUES ($1, $2, $3, $4)
     ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
    [u.name, u.displayName, u.passwordHash, u.role],
  );
  if (!rows[0]) throw new UserExists(`there is already a console user ${u.name}`);
  await audit(db, actor, "console_user_added", u.name, { displayName: u.displayName, role: u.role });
  return user(rows[0]);
}

/** Sets a user's password; their sessions end. False when there is no such user. */
export async function setPassword(
  db: SqlClient,
  name: string,
  passwordHash: string,
  actor: Actor,
): Promise<boolean> {
  const { rows } = await db.query(
    "UPDATE console_users SET password_hash = $2, generation = generation + 1 WHERE name = $1 RETURNING name",
    [name, passwordHash],
  );
  if (rows.length === 0) return false;
  await audit(db, actor, "console_user_password_changed", name);
  return true;
}

/** Disables (their sessions end) or enables a user. Undefined when there is no such user; the
 * user as they were otherwise (nothing is written or audited when nothing changes). */
export async function setDisabled(
  db: SqlClient,
  name: string,
  disabled: boolean,
  actor: Actor,
): Promise<{ changed: boolean } | undefined> {
  const { rows } = await db.query<Row>(
    disabled
      ? `UPDATE console_users SET disabled_at = now(), generation = generation + 1
          WHERE name = $1 AND disabled_at IS NULL RETURNING ${COLUMNS}`
      : `UPDATE console_users SET disabled_at = NULL WHERE name = $1 AND disabled_at IS NOT NULL RETURNING ${COLUMNS}`,
    [name],
  );
  if (rows.length === 0) return (await findUser(db, name)) ? { changed: false } : undefined;
  await audit(db, actor, disabled ? "console_user_disabled" : "console_user_enabled", name);
  return { changed: true };
}

/** Removes a user (their sessions end); what they wrote in the inbox stays, under their name.
 * False when there is no such user. */
export async function removeUser(db: SqlClient, name: string, actor: Actor): Promise<boolean> {
  const { rows } = await db.query("DELETE FROM console_users WHERE name = $1 RETURNING name", [name]);
  if (rows.length === 0) return false;
  await audit(db, actor, "console_user_removed", name);
  return true;
}
