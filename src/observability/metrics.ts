import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { DOMAIN_EVENT_TYPES } from "../instagram/events.ts";
import { PACKAGE_VERSION } from "./build-info.ts";

// Every label value comes from a fixed set written in the code (route patterns, event types,
// outcomes) or from the operator's own configuration (accounts): each distinct value is a series
// kept for the life of the process, so nothing a request or a payload says may become one.

const EVENT_KINDS = new Set<string>(DOMAIN_EVENT_TYPES);

/** An event kind as a label: one of the domain's event types, else `other`. */
export function eventKindLabel(kind: string | undefined): string {
  return kind !== undefined && EVENT_KINDS.has(kind) ? kind : "other";
}

/** The methods the service's routes take, and OPTIONS; anything else a client sends is `other`. */
const HTTP_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** A request's method as a label: one of a fixed set, else `other` (a client may send any token). */
export function httpMethodLabel(method: string): string {
  return HTTP_METHODS.has(method) ? method : "other";
}

/** The service's Prometheus metrics, on a registry of its own so several instances can coexist in tests. */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: "threadbridge_http_requests_total",
    help: "HTTP requests by method, route and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: "threadbridge_http_request_duration_seconds",
    help: "HTTP request duration by method and route",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly webhookEvents = new Counter({
    name: "threadbridge_webhook_events_total",
    help: "Instagram webhook events by kind and outcome (stored, duplicate)",
    labelNames: ["kind", "outcome"] as const,
    registers: [this.registry],
  });

  readonly webhookRejected = new Counter({
    name: "threadbridge_webhook_rejected_total",
    help: "Instagram webhook deliveries refused, by reason",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  readonly jobsProcessed = new Counter({
    name: "threadbridge_jobs_total",
    help: "Inbound jobs by event kind and outcome (processed, already_processed, retried, dead)",
    labelNames: ["kind", "outcome"] as const,
    registers: [this.registry],
  });

  readonly jobLatency = new Histogram({
    name: "threadbridge_job_latency_seconds",
    help: "Time from webhook receipt to the event being handled",
    labelNames: ["kind"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: "threadbridge_queue_depth",
    help: "Jobs waiting, active and failed per queue",
    labelNames: ["queue", "state"] as const,
    registers: [this.registry],
  });

  readonly graphCalls = new Counter({
    name: "threadbridge_graph_calls_total",
    help: "Instagram Graph API calls by rate-limit class and outcome (ok or the error kind)",
    labelNames: ["class", "outcome"] as const,
    registers: [this.registry],
  });

  readonly outboundDeferred = new Counter({
    name: "threadbridge_outbound_deferred_total",
    help: "Outbound calls that waited their turn past the in-process wait, by rate-limit class",
    labelNames: ["class"] as const,
    registers: [this.registry],
  });

  readonly outboundMessages = new Counter({
    name: "threadbridge_outbound_messages_total",
    help: "Outbound messages by result (sent, failed, held, deferred, reconciled)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  readonly outboundOpen = new Gauge({
    name: "threadbridge_outbound_open",
    help: "Outbound messages not yet sent, per account and state (pending, held)",
    labelNames: ["account", "state"] as const,
    registers: [this.registry],
  });

  readonly paused = new Gauge({
    name: "threadbridge_paused",
    help: '1 for each pause switch that is on (account, or "*" for the global switch)',
    labelNames: ["account"] as const,
    registers: [this.registry],
  });

  readonly mirrorPosts = new Counter({
    name: "threadbridge_mirror_operations_total",
    help: "Chat operations made by the mirror, by platform and operation",
    labelNames: ["platform", "operation"] as const,
    registers: [this.registry],
  });

  readonly chatPlatformUp = new Gauge({
    name: "threadbridge_chat_platform_up",
    help: "1 when a configured chat platform's last check passed (token, scopes or intents), else 0",
    labelNames: ["platform"] as const,
    registers: [this.registry],
  });

  readonly chatDestinationUp = new Gauge({
    name: "threadbridge_chat_destination_up",
    help: "1 when the bot can work in a routed or digest channel as of its last check, else 0",
    labelNames: ["platform", "channel"] as const,
    registers: [this.registry],
  });

  readonly chatDestinationHeld = new Gauge({
    name: "threadbridge_chat_destination_held",
    help: 'Destinations whose mirror work is held until a recheck passes (1 each; channel "*": the whole platform)',
    labelNames: ["platform", "channel"] as const,
    registers: [this.registry],
  });

  readonly webhookLastReceived = new Gauge({
    name: "threadbridge_webhook_last_received_timestamp_seconds",
    help: "Unix time of the newest Instagram event handled for each connected account (none: no event yet)",
    labelNames: ["account"] as const,
    registers: [this.registry],
  });

  readonly webhookSilent = new Gauge({
    name: "threadbridge_webhook_silent",
    help: "1 while an active account's webhooks have been silent longer than WEBHOOK_SILENCE_MINUTES and 4 times its usual gap, else 0",
    labelNames: ["account"] as const,
    registers: [this.registry],
  });

  readonly webhookSilenceSeconds = new Gauge({
    name: "threadbridge_webhook_silence_seconds",
    help: "Seconds since the newest webhook event of each active account (since it was connected, when none came)",
    labelNames: ["account"] as const,
    registers: [this.registry],
  });

  readonly accounts = new Gauge({
    name: "threadbridge_accounts",
    help: "Connected Instagram accounts by status (active, token_invalid, revoked, removed)",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });

  readonly buildInfo = new Gauge({
    name: "threadbridge_build_info",
    help: "1, labelled with the running version and Node.js version",
    labelNames: ["version", "node"] as const,
    registers: [this.registry],
  });

  constructor() {
    // Node's and the process's own metrics under their standard names (process_*, nodejs_*), so
    // stock Node.js dashboards and alerts find them.
    collectDefaultMetrics({ register: this.registry });
    this.buildInfo.set({ version: PACKAGE_VERSION, node: process.version }, 1);
  }
}
