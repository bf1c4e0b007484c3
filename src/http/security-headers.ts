import type express from "express";

// Headers every answer carries, set before any route runs, so an HTML page added later (an error
// page, a status page, a file an agent shared) cannot forget them. Routes may tighten them: the
// console sets its own, stricter policy (console/middleware.ts).

/**
 * No scripts, no plugins, no frames, no foreign forms. Inline style attributes are allowed for
 * the small standalone pages that carry their style with them (the deletion status page); a
 * `<style>` element or stylesheet from elsewhere is not.
 */
export const DEFAULT_POLICY = [
  "default-src 'none'",
  "style-src 'self'",
  "style-src-attr 'unsafe-inline'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export const securityHeaders: express.RequestHandler = (_req, res, next) => {
  res.set({
    "content-security-policy": DEFAULT_POLICY,
    "x-content-type-options": "nosniff",
    // For browsers without CSP frame-ancestors.
    "x-frame-options": "DENY",
    // Addresses can carry codes (the OAuth callback, deletion confirmation codes): they never go to
    // another origin. Not no-referrer: browsers then send `Origin: null` with forms, which the
    // console's CSRF check refuses.
    "referrer-policy": "same-origin",
  });
  next();
};
