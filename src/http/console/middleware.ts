import express from "express";

// What every console route shares: headers that keep its pages out of frames, caches and other
// origins' reach, and the parser of its small forms.

const policy = (images: string) =>
  [
    "default-src 'none'",
    "style-src 'self'",
    `img-src ${images}`,
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
const POLICY = policy("'self'");

export const secured: express.RequestHandler = (_req, res, next) => {
  res.set({
    "content-security-policy": POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    // The callback's address carries the authorization code: never pass it to another origin.
    // (Not no-referrer: browsers then send `Origin: null` with forms, which csrf.ts refuses.)
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
  });
  next();
};

export const form = express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 });

/** For a page showing customers' pictures from Meta's CDN (linked, never copied): images from any
 * https origin too, sent without a referrer (each <img> says so). Still no script anywhere. */
export const cdnImages: express.RequestHandler = (_req, res, next) => {
  res.set("content-security-policy", policy("'self' https:"));
  next();
};

/** For the digest preview, whose chart is inlined as a data: URL (rendered for this page only). */
export const inlineImages: express.RequestHandler = (_req, res, next) => {
  res.set("content-security-policy", policy("'self' data:"));
  next();
};
