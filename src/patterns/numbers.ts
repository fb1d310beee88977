/**
 * Numbers as event-ruler compares them: a decimal in [-5e9, 5e9] with at most six digits after the
 * point (after trailing zeros are stripped) is "comparable" and is represented exactly as the integer
 * value × 10^6, which stays below 2^53 and so is exact in a JS number. Other numbers can only be matched
 * by their literal text.
 * @see event-ruler ComparableNumber.java
 */

/** Largest magnitude of a comparable number. */
export const MAX_COMPARABLE = 5_000_000_000;
/** Digits after the decimal point that comparisons honour. */
export const COMPARABLE_DECIMALS = 6;
const SCALED_LIMIT = MAX_COMPARABLE * 10 ** COMPARABLE_DECIMALS;

/**
 * Returns the scaled integer (value × 10^6) of a JSON number literal, or `undefined` when the number
 * is out of range or has more than six significant decimals.
 */
export function comparableKey(text: string): number | undefined {
  const n = text.length;
  let i = 0;
  let negative = false;
  if (text.charCodeAt(0) === 45) {
    negative = true;
    i = 1;
  }
  // Fast path: plain decimal, at most 16 significant characters, no exponent.
  let acc = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      acc = acc * 10 + (c - 48);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (c === 46 && fraction < 0) {
      fraction = 0;
    } else {
      break;
    }
  }
  if (i === n && digits <= 15 && fraction <= COMPARABLE_DECIMALS) {
    const scaled = acc * 10 ** (COMPARABLE_DECIMALS - Math.max(fraction, 0));
    if (scaled > SCALED_LIMIT) return undefined;
    return negative && scaled !== 0 ? -scaled : scaled;
  }
  return slowComparableKey(text);
}

function slowComparableKey(text: string): number | undefined {
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/.exec(text);
  if (m === null) return undefined;
  const [, sign = "", int = "", frac = "", exp = "0"] = m;
  let mantissa = (int + frac).replace(/^0+/, "");
  let power = Number(exp) - frac.length + COMPARABLE_DECIMALS;
  if (mantissa === "") return 0;
  const trailing = /0*$/.exec(mantissa)?.[0].length ?? 0;
  mantissa = mantissa.slice(0, mantissa.length - trailing);
  power += trailing;
  if (power < 0) return undefined; // more than six decimals
  if (mantissa.length + power > 16) return undefined; // far beyond the range
  const scaled = Number(mantissa + "0".repeat(power));
  if (scaled > SCALED_LIMIT) return undefined;
  return sign === "-" ? -scaled : scaled;
}

/** Why a pattern number cannot be used in a numeric comparison, or `undefined` if it can. */
export function comparableProblem(text: string): string | undefined {
  if (comparableKey(text) !== undefined) return undefined;
  const m = /^-?[0-9]+(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/.exec(text);
  const decimals = (m?.[1]?.replace(/0+$/, "").length ?? 0) - Number(m?.[2] ?? 0);
  if (decimals > COMPARABLE_DECIMALS && Math.abs(Number(text)) <= MAX_COMPARABLE) {
    return "Only values upto 6 decimals are supported";
  }
  return `Value must be between -5.0E9 and 5.0E9, inclusive`;
}
