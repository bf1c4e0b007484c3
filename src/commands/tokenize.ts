// The one tokenizer for commands typed as text: `/ig …` where a platform hands over the text and
// `!commands` typed in a thread (every platform). Words are split on whitespace; a word
// that starts with a quote runs to its closing quote, so `rules test "how much is it?"` is two words
// and a quoted text. Platform mention markup is the adapter's business: it hands over text where a
// mention is already a plain `@name`.

export interface Token {
  /** The word, without its quotes. */
  text: string;
  /** Where the word (its opening quote, if any) starts in the line. */
  start: number;
  quoted: boolean;
}

/** Opening quote → the quotes that close it (curly quotes as phones type them, or straight). */
const CLOSERS: Record<string, string> = { '"': '"', "“": '”"', "”": '”"', "'": "'", "‘": "’'", "’": "’'" };

export function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line.charAt(i))) i++;
    if (i >= line.length) break;
    const start = i;
    const closers = CLOSERS[line.charAt(i)];
    if (closers !== undefined) {
      let end = i + 1;
      while (end < line.length && !closers.includes(line.charAt(end))) end++;
      // An unclosed quote takes the rest of the line rather than failing the whole command.
      tokens.push({ text: line.slice(i + 1, end), start, quoted: true });
      i = end + 1;
      continue;
    }
    while (i < line.length && !/\s/.test(line.charAt(i))) i++;
    tokens.push({ text: line.slice(start, i), start, quoted: false });
  }
  return tokens;
}

/** The rest of the line from token `from` on, for a trailing free text: as typed, quotes and all,
 * with each run of whitespace one space (as commands have always read it); one quoted word alone
 * loses its quotes. */
export function restOf(line: string, tokens: readonly Token[], from: number): string {
  const first = tokens[from];
  if (first === undefined) return "";
  const text = from === tokens.length - 1 && first.quoted ? first.text : line.slice(first.start);
  return text.replace(/\s+/g, " ").trim();
}
