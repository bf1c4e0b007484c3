import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

// The service's spans, written against the OpenTelemetry API only: without an SDK registered
// (no OTLP endpoint set, see tracing.ts) every call here is a no-op or skipped outright, so the
// hot path pays nothing for tracing it does not do.

export { SpanKind, SpanStatusCode };

const tracer = trace.getTracer("threadbridge");

/** What `fn` is handed while tracing is off: a span that records nothing. */
const NOT_RECORDING = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

let on = false;

/** Called by tracing.ts once the SDK is registered. */
export function tracingStarted(): void {
  on = true;
}

/** Whether spans are recorded in this process. */
export function tracingOn(): boolean {
  return on;
}

/**
 * Runs `fn` inside a new span, a child of the active one. The span ends when `fn` settles; a
 * thrown error is recorded on it (its class and message, never a payload) and rethrown.
 */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  if (!on) return fn(NOT_RECORDING);
  const parent = options.parent ?? context.active();
  return tracer.startActiveSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes ? { attributes: options.attributes } : {}),
    },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        failed(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/** Marks `span` failed with the error's class and message. */
export function failed(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException({ name: e.name, message: e.message });
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message.slice(0, 200) });
}

/** What a job carries of the trace it was queued in: W3C `traceparent` (and `tracestate`). */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/** The active trace, to put in a job's data so its handler (in any process) continues it; nothing
 * when no span is active or tracing is off. */
export function traceCarrier(): { trace?: TraceCarrier } {
  if (!on) return {};
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? { trace: carrier } : {};
}

/** The context a job's data says it was queued in (the root context when it says nothing). */
export function jobParent(data: { trace?: unknown }): Context {
  const carrier = data.trace;
  if (!on || typeof carrier !== "object" || carrier === null) return ROOT_CONTEXT;
  const { traceparent, tracestate } = carrier as Record<string, unknown>;
  if (typeof traceparent !== "string") return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, {
    traceparent,
    ...(typeof tracestate === "string" ? { tracestate } : {}),
  });
}

/** Runs a queued job's handler in a consumer span continuing the trace its data carries. */
export function inJobSpan<T>(
  queue: string,
  data: { trace?: unknown },
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  if (!on) return fn(NOT_RECORDING);
  return inSpan(
    `${queue} job`,
    {
      kind: SpanKind.CONSUMER,
      parent: jobParent(data),
      attributes: { "messaging.system": "pg-boss", "messaging.destination.name": queue, ...attributes },
    },
    fn,
  );
}

/** Starts a span without making it active (an HTTP request's, ended when the answer is sent). */
export function startSpan(name: string, kind: SpanKind, parent: Context, attributes: Attributes): Span {
  return tracer.startSpan(name, { kind, attributes }, parent);
}

/** `ctx` with `span` active. */
export function withSpan(ctx: Context, span: Span): Context {
  return trace.setSpan(ctx, span);
}

/** Runs `fn` with `ctx` active; `bind` keeps an event emitter's listeners in it too. */
export function runIn<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

export function bindEmitter<E extends NodeJS.EventEmitter>(ctx: Context, emitter: E): E {
  return context.bind(ctx, emitter);
}
