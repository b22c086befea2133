/** How the limits panel writes numbers: amounts with their unit, durations in the largest units that read well. */

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/** Policies whose quota counts response bytes (src/limits/dimensions.ts: `bytes-hour`). */
export const isBytesPolicy = (name: string) => name.startsWith('bytes-');

/** 999969235 -> "1 GB" (decimal units, as the plans are written: 50 MB = 50,000,000 bytes). */
export function formatBytes(value: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = value;
  let i = 0;
  // On the value as shown (one decimal): 999,969,235 B is "1 GB", not "1,000 MB".
  while (Math.abs(Math.round(v * 10) / 10) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${i === 0 ? integer.format(v) : decimal.format(v)} ${units[i]}`;
}

/** A policy amount: bytes for a bandwidth policy, else a count with thousands separators. */
export function formatAmount(policy: string, value: number): string {
  return isBytesPolicy(policy) ? formatBytes(value) : integer.format(value);
}

/**
 * 42 -> "42 s", 600 -> "10 min", 5400 -> "1 h 30 min", 2267602 -> "26 days 6 h": two units at most,
 * the larger first, so a monthly reset does not read as millions of seconds.
 */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  // Rounded once to the smaller unit shown, so 3,599 s is "1 h", never "0 h 60 min".
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 48 * 60) return minutes % 60 === 0 ? `${minutes / 60} h` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  const hours = Math.round(s / 3600);
  return hours % 24 === 0 ? `${hours / 24} days` : `${Math.floor(hours / 24)} days ${hours % 24} h`;
}
