import { type DiagLogger, DiagLogLevel, diag } from "@opentelemetry/api";
import type { Logger } from "../log/logger.ts";
import { tracingStarted } from "./spans.ts";

// The OpenTelemetry SDK, started only when an OTLP endpoint is configured: the SDK, the exporter
// and their dependencies are imported here, dynamically, so a process without traces never loads
// them (memory: issue 23). Spans are batched and POSTed as OTLP/HTTP JSON to the endpoint with the
// configured headers (given to the exporter: they may come from OTEL_EXPORTER_OTLP_HEADERS_FILE);
// the exporter reads the other standard variables itself (OTEL_EXPORTER_OTLP_TIMEOUT, _COMPRESSION),
// the batch processor OTEL_BSP_*, the provider OTEL_TRACES_SAMPLER, the resource
// OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME.

export interface TracingSettings {
  /** Where spans are POSTed (…/v1/traces). */
  url: string;
  serviceName: string;
  /** The package's version, for `service.version`. */
  version: string;
  /** Sent with every export (OTEL_EXPORTER_OTLP_HEADERS and _TRACES_HEADERS, or their NAME_FILE). */
  headers?: Record<string, string>;
}

export interface Tracing {
  /** Sends what is still buffered and stops. */
  shutdown(): Promise<void>;
}

/** The SDK's own complaints (an export that failed) as log lines, not console output. */
function diagLogger(log: Logger): DiagLogger {
  const child = log.child({ component: "otel" });
  const at =
    (level: "error" | "warn" | "info" | "debug") =>
    (message: string, ...args: unknown[]) => {
      const detail = args
        .map((a) => (a instanceof Error ? a.message : typeof a === "string" ? a : undefined))
        .filter((a): a is string => a !== undefined);
      child[level](detail.length ? { detail: detail.join("; ") } : {}, message);
    };
  return { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug"), verbose: at("debug") };
}

/**
 * Registers a tracer provider exporting to `settings.url`, for the process running `role`
 * (`start`, `web` or `worker`: a resource attribute, so a trace shows which process did what).
 */
export async function startTracing(settings: TracingSettings, role: string, log: Logger): Promise<Tracing> {
  diag.setLogger(diagLogger(log), DiagLogLevel.WARN);
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, resources, semconv] =
    await Promise.all([
      import("@opentelemetry/sdk-trace-node"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
      import("@opentelemetry/semantic-conventions"),
    ]);
  // Ours first, then what the environment says (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) over it.
  const resource = resources
    .defaultResource()
    .merge(
      resources.resourceFromAttributes({
        [semconv.ATTR_SERVICE_NAME]: settings.serviceName,
        [semconv.ATTR_SERVICE_VERSION]: settings.version,
        "process.pid": process.pid,
        "threadbridge.role": role,
      }),
    )
    .merge(resources.detectResources({ detectors: [resources.envDetector, resources.hostDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor(
        new OTLPTraceExporter({
          url: settings.url,
          // Given here, not left to the exporter's own reading of the environment: a value read
          // from OTEL_EXPORTER_OTLP_HEADERS_FILE is not in the environment.
          ...(settings.headers && Object.keys(settings.headers).length ? { headers: settings.headers } : {}),
        }),
      ),
    ],
  });
  provider.register();
  tracingStarted();
  return {
    async shutdown() {
      await provider.shutdown().catch((err: unknown) => log.warn({ err }, "traces: shutdown failed"));
    },
  };
}
