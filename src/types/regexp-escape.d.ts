// `RegExp.escape` (ES2025) is in Node 24, the runtime this project requires (package.json
// `engines`), but not yet in TypeScript 5.9's library declarations.
interface RegExpConstructor {
  /** `s` with every character that has a meaning in a pattern escaped, to match it literally. */
  escape(s: string): string;
}
