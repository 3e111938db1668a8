/**
 * Money in integer minor units, formatted by each currency's ISO 4217 exponent. Pure (no Intl
 * locale data, so the workflow sandbox and every Node build format identically).
 */

/** ISO 4217 exponents that are not 2. Everything else (INR, USD, EUR, …) has 2. */
const EXPONENTS: Record<string, number> = {
  // 0 decimals
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  // 3 decimals
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  // 4 decimals
  CLF: 4,
  UYW: 4,
};

const SYMBOLS: Record<string, string> = { INR: '₹', USD: '$', EUR: '€', GBP: '£', JPY: '¥', SGD: 'S$', MYR: 'RM' };

/** A three-letter uppercase code (ISO 4217 shape). */
export const CURRENCY_PATTERN = /^[A-Z]{3}$/;

/** Number of minor-unit digits for `currency` (ISO 4217 exponent). */
export function minorUnitDigits(currency: string): number {
  return EXPONENTS[currency.toUpperCase()] ?? 2;
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * `formatAmount(123450, 'INR')` → `₹1,234.50 INR`; `formatAmount(1500, 'JPY')` → `¥1,500 JPY`;
 * `formatAmount(1234, 'KWD')` → `1.234 KWD`. Integer arithmetic on strings: no float rounding.
 */
export function formatAmount(minor: number, currency: string): string {
  const code = currency.toUpperCase();
  if (!Number.isSafeInteger(minor)) return `${String(minor)} ${code} (minor units)`;
  const digits = minorUnitDigits(code);
  const negative = minor < 0;
  const abs = String(Math.abs(minor)).padStart(digits + 1, '0');
  const whole = abs.slice(0, abs.length - digits);
  const frac = digits > 0 ? `.${abs.slice(abs.length - digits)}` : '';
  const symbol = SYMBOLS[code] ?? '';
  return `${negative ? '-' : ''}${symbol}${groupThousands(whole)}${frac} ${code}`;
}
