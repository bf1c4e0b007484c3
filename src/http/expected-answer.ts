import type { Response } from "express";

// Some error statuses are the service working as designed, not failing: the console's setup page
// answers 503 until a sign-in is configured, Business Login's page 503 while it is off. The request
// log then says so in one line at info, with the reason, instead of an error with a stack that
// points at the logging library.

const EXPECTED = "expectedAnswer";
const LOGGED = "answerLogged";

/** Marks this answer as an expected condition, described by `reason`, for the request log. */
export function expectedAnswer(res: Response, reason: string): Response {
  res.locals[EXPECTED] = reason;
  return res;
}

/** The reason an answer was marked expected, if it was. */
export function expectedReason(res: { locals?: Record<string, unknown> }): string | undefined {
  const reason = res.locals?.[EXPECTED];
  return typeof reason === "string" ? reason : undefined;
}

/** The route has logged this answer's condition itself, at its level: the request log keeps the
 * request at debug, so one refusal is one line. */
export function answerLogged(res: Response): Response {
  res.locals[LOGGED] = true;
  return res;
}

/** Whether the route logged this answer itself. */
export function wasLogged(res: { locals?: Record<string, unknown> }): boolean {
  return res.locals?.[LOGGED] === true;
}
