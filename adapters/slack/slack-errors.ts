import { WebAPIPlatformError } from "@slack/web-api";

/** The `error` code of an `ok:false` answer, or undefined for any other failure. */
export function platformErrorCode(err: unknown): string | undefined {
  return err instanceof WebAPIPlatformError ? err.data.error : undefined;
}

/** Runs a Web API call, treating the listed `ok:false` codes as success (idempotent operations). */
export async function tolerating(
  codes: readonly string[],
  call: () => Promise<unknown>,
): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (err) {
    const code = platformErrorCode(err);
    if (code !== undefined && codes.includes(code)) return code;
    throw err;
  }
}

/** Error fields safe to log: no request bodies, no response data. */
export function errorFields(err: unknown): { name: string; code?: string; message: string } {
  if (!(err instanceof Error)) return { name: "unknown", message: String(err) };
  const code = platformErrorCode(err) ?? (err as Error & { code?: unknown }).code;
  return { name: err.name, ...(typeof code === "string" ? { code } : {}), message: err.message };
}
