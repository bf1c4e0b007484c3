// Discord's gateway over `ws`, plain JSON frames only: HELLO, heartbeats, IDENTIFY → READY and
// GUILD_CREATE, RESUME with replay. Every dispatch is numbered per session and kept, so a session
// whose socket is gone keeps collecting events until it resumes (or is invalidated), as Discord does.

import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { type WebSocket, WebSocketServer } from "ws";
import { isObject, type Json } from "./model.ts";

interface Dispatch {
  op: 0;
  t: string;
  s: number;
  d: unknown;
}

interface Session {
  id: string;
  seq: number;
  buffer: Dispatch[];
  socket: WebSocket | null;
  intents: number;
}

export interface GatewayHooks {
  token: string;
  /** Whether IDENTIFY's intents include a privileged one the application was not granted (4014). */
  disallowed?(intents: number): boolean;
  heartbeatIntervalMs: number;
  /** READY's `d` for a new session. */
  ready(sessionId: string): Json;
  /** What the guild sends after READY (GUILD_CREATE). */
  afterReady(): Array<{ t: string; d: Json }>;
  /** Op 8 REQUEST_GUILD_MEMBERS. */
  membersChunk(request: Json): Json;
  /** The event as this session sees it given its intents, or null when it doesn't receive it. */
  shape(t: string, d: Json, intents: number): Json | null;
}

export interface GatewayStats {
  identifies: number;
  resumes: number;
  connected: number;
}

const MAX_BUFFER = 10_000;
// discord.js closes with 1000 when it is done with a session (destroy); any other code keeps it.
const SESSION_ENDING_CODES = new Set([1000, 1001]);

export class Gateway {
  readonly wss: WebSocketServer;
  readonly stats = { identifies: 0, resumes: 0 };
  readonly #hooks: GatewayHooks;
  readonly #sessions = new Map<string, Session>();
  readonly #bound = new Map<WebSocket, Session>();
  readonly #droppedByServer = new WeakSet<WebSocket>();
  /** Query strings of every connection (tests can check `v=10&encoding=json`). */
  readonly connections: Array<{ query: string; at: number }> = [];

  constructor(server: Server, hooks: GatewayHooks) {
    this.#hooks = hooks;
    this.wss = new WebSocketServer({ server });
    this.wss.on("connection", (socket, req) => {
      const query = (req.url ?? "").split("?")[1] ?? "";
      this.connections.push({ query, at: Date.now() });
      const params = new URLSearchParams(query);
      if (params.get("encoding") && params.get("encoding") !== "json") {
        socket.close(4002, "Only encoding=json is supported by the fake");
        return;
      }
      // `compress=zlib-stream` is ignored: frames stay text, which @discordjs/ws parses as plain JSON.
      this.#send(socket, { op: 10, d: { heartbeat_interval: this.#hooks.heartbeatIntervalMs } });
      socket.on("message", (raw) => this.#onMessage(socket, String(raw)));
      socket.on("close", (code) => this.#onClose(socket, code));
      socket.on("error", () => {});
    });
  }

  get sessionStats(): GatewayStats {
    return { ...this.stats, connected: this.#bound.size };
  }

  /** Sends an event to every live session; sessions without a socket keep it for RESUME. */
  dispatch(t: string, d: Json): void {
    for (const session of this.#sessions.values()) {
      const shaped = this.#hooks.shape(t, d, session.intents);
      if (shaped) this.#dispatchTo(session, t, shaped);
    }
  }

  /** Closes every socket; resumable drops keep the sessions (code 4000), others end them (1000). */
  drop(resumable: boolean): void {
    for (const [socket, session] of [...this.#bound]) {
      this.#droppedByServer.add(socket);
      this.#bound.delete(socket);
      session.socket = null;
      if (!resumable) this.#sessions.delete(session.id);
      socket.close(resumable ? 4000 : 1000, resumable ? "Unknown error" : "Session invalidated");
    }
  }

  /** Op 7 RECONNECT: the client is expected to reconnect and resume. */
  requestReconnect(): void {
    for (const socket of this.#bound.keys()) this.#send(socket, { op: 7, d: null });
  }

  /** Op 1 from the server: the client must heartbeat at once. */
  requestHeartbeat(): void {
    for (const socket of this.#bound.keys()) this.#send(socket, { op: 1, d: null });
  }

  /** Forgets every session, so a RESUME is answered with INVALID_SESSION. */
  invalidateSessions(): void {
    for (const session of this.#sessions.values()) session.socket = null;
    this.#sessions.clear();
  }

  async close(): Promise<void> {
    for (const socket of this.wss.clients) socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  #dispatchTo(session: Session, t: string, d: unknown): void {
    session.seq += 1;
    const frame: Dispatch = { op: 0, t, s: session.seq, d };
    session.buffer.push(frame);
    if (session.buffer.length > MAX_BUFFER) session.buffer.shift();
    if (session.socket) this.#send(session.socket, frame);
  }

  #send(socket: WebSocket, payload: unknown): void {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(payload));
  }

  #onMessage(socket: WebSocket, raw: string): void {
    let payload: unknown;
    try {
      payload = JSON.parse(raw);
    } catch {
      socket.close(4002, "Error while decoding payload");
      return;
    }
    if (!isObject(payload) || typeof payload.op !== "number") {
      socket.close(4002, "Error while decoding payload");
      return;
    }
    const d = payload.d;
    const session = this.#bound.get(socket);
    switch (payload.op) {
      case 1:
        this.#send(socket, { op: 11 });
        return;
      case 2:
        if (session) {
          socket.close(4005, "Already authenticated");
          return;
        }
        this.#identify(socket, isObject(d) ? d : {});
        return;
      case 6:
        if (session) {
          socket.close(4005, "Already authenticated");
          return;
        }
        this.#resume(socket, isObject(d) ? d : {});
        return;
      case 3:
      case 4:
        if (!session) socket.close(4003, "Not authenticated");
        return;
      case 8:
        if (!session) {
          socket.close(4003, "Not authenticated");
          return;
        }
        this.#dispatchTo(session, "GUILD_MEMBERS_CHUNK", this.#hooks.membersChunk(isObject(d) ? d : {}));
        return;
      default:
        socket.close(4001, "Unknown opcode");
    }
  }

  #identify(socket: WebSocket, d: Json): void {
    if (d.token !== this.#hooks.token) {
      socket.close(4004, "Authentication failed");
      return;
    }
    if (this.#hooks.disallowed?.(typeof d.intents === "number" ? d.intents : 0)) {
      socket.close(4014, "Disallowed intent(s).");
      return;
    }
    this.stats.identifies += 1;
    const session: Session = {
      id: randomUUID().replaceAll("-", ""),
      seq: 0,
      buffer: [],
      socket,
      intents: typeof d.intents === "number" ? d.intents : 0,
    };
    this.#sessions.set(session.id, session);
    this.#bound.set(socket, session);
    this.#dispatchTo(session, "READY", this.#hooks.ready(session.id));
    for (const event of this.#hooks.afterReady()) {
      const shaped = this.#hooks.shape(event.t, event.d, session.intents);
      if (shaped) this.#dispatchTo(session, event.t, shaped);
    }
  }

  #resume(socket: WebSocket, d: Json): void {
    const session = typeof d.session_id === "string" ? this.#sessions.get(d.session_id) : undefined;
    if (!session || d.token !== this.#hooks.token) {
      this.#send(socket, { op: 9, d: false });
      return;
    }
    const seq = typeof d.seq === "number" ? d.seq : 0;
    const oldest = session.buffer[0]?.s ?? session.seq + 1;
    if (seq < oldest - 1) {
      // The events after `seq` are no longer kept: Discord can't resume this either.
      this.#sessions.delete(session.id);
      this.#send(socket, { op: 9, d: false });
      return;
    }
    if (session.socket) {
      this.#bound.delete(session.socket);
      this.#droppedByServer.add(session.socket);
      session.socket.close(4000, "Session resumed elsewhere");
    }
    this.stats.resumes += 1;
    session.socket = socket;
    this.#bound.set(socket, session);
    for (const frame of session.buffer) if (frame.s > seq) this.#send(socket, frame);
    this.#dispatchTo(session, "RESUMED", {});
  }

  #onClose(socket: WebSocket, code: number): void {
    const session = this.#bound.get(socket);
    this.#bound.delete(socket);
    if (!session || this.#droppedByServer.has(socket)) return;
    session.socket = null;
    if (SESSION_ENDING_CODES.has(code)) this.#sessions.delete(session.id);
  }
}
