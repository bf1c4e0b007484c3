import { InvalidArgumentError } from "commander";

/** An option parser for a whole number from `min` to `max`; commander prints its complaint. */
export function wholeNumber(min: number, max: number, unit = ""): (text: string) => number {
  const expected = `expected ${min} to ${max}${unit ? ` ${unit}` : ""}`;
  return (text) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(expected);
    return n;
  };
}
