// `threadbridge demo` plays Instagram itself (src/demo.ts). Where a real Instagram app is configured
// (in the environment or the `.env` the CLI read), the demo's simulated customers, sends and
// signatures would sit beside a real app's settings, and someone could take the one for the other:
// it refuses to start instead. Free of the service's modules, so the CLI loads it with its
// definitions; the demo itself is imported only when it runs.

/** The variables that mean a real Instagram app is configured, each also as `NAME_FILE`. */
const INSTAGRAM_CREDENTIALS = ["IG_APP_SECRET", "META_APP_SECRET", "IG_APP_ID", "IG_VERIFY_TOKEN"] as const;

/** Which of the real Instagram credentials `env` sets (non-empty), `_FILE` forms included. */
export function realInstagramCredentials(env: NodeJS.ProcessEnv): string[] {
  return INSTAGRAM_CREDENTIALS.flatMap((name) => [name, `${name}_FILE`]).filter(
    (name) => (env[name] ?? "").trim() !== "",
  );
}

/** The demo cannot run here (the CLI exits 78 with its message). */
export class DemoRefused extends Error {}
