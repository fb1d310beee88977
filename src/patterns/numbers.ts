/**
 * Numbers as event-ruler compares them (since its PRs #166, #171 and #188): a number is "comparable"
 * when its exact decimal value is the value of a finite double written in shortest round-trip form;
 * comparable numbers compare as doubles (-0 is 0). Any other number (1e400, 12345678901234567891,
 * 37.807807921694092) takes no part in numeric matching and can only be matched by its literal text.
 * @see docs/pattern-semantics.md R25–R28
 * @see event-ruler ComparableNumber.java
 */

/** Significant digits that always survive decimal → double → shortest decimal unchanged (DBL_DIG). */
const SAFE_DIGITS = 15;

/**
 * Returns the double value of a JSON number literal when it is comparable, otherwise `undefined`.
 */
export function comparableKey(text: string): number | undefined {
  // Fast path: a literal with at most 15 digits in all is exactly the shortest form of its double.
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c !== 45 && c !== 46) {
      digits = SAFE_DIGITS + 1; // an exponent: take the careful path
      break;
    }
  }
  const d = Number(text);
  if (digits <= SAFE_DIGITS) return d === 0 ? 0 : d;
  if (!Number.isFinite(d)) return undefined;
  return sameDecimal(text, String(d)) ? (d === 0 ? 0 : d) : undefined;
}

/** A decimal as sign, significant digits (no leading or trailing zeros) and the exponent of its last digit. */
function decimal(text: string): { negative: boolean; digits: string; exponent: number } | undefined {
  const m = /^(-?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(text);
  if (m === null) return undefined;
  const [, sign = "", int = "", frac = "", exp = "0"] = m;
  let digits = (int + frac).replace(/^0+/, "");
  let exponent = Number(exp) - frac.length;
  const trailing = digits.length - digits.replace(/0+$/, "").length;
  digits = digits.slice(0, digits.length - trailing);
  exponent += trailing;
  if (digits === "") return { negative: false, digits: "", exponent: 0 };
  return { negative: sign === "-", digits, exponent };
}

/** Whether two decimal literals (JSON or JS number syntax) denote exactly the same value. */
export function sameDecimal(a: string, b: string): boolean {
  const x = decimal(a);
  const y = decimal(b);
  return (
    x !== undefined &&
    y !== undefined &&
    x.negative === y.negative &&
    x.digits === y.digits &&
    x.exponent === y.exponent
  );
}

/** Why a pattern number cannot be used in a numeric comparison, or `undefined` if it can. */
export function comparableProblem(text: string): string | undefined {
  return comparableKey(text) === undefined
    ? `Cannot compare number ${text}: it is not exactly representable as a double`
    : undefined;
}
