/** Display helpers. Everything returns plain strings, rendered as text nodes (never as HTML). */

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

export function count(value: number | null | undefined): string {
  if (value == null) return '–';
  return Math.abs(value) >= 100 || Number.isInteger(value) ? integer.format(value) : decimal.format(value);
}

export function bytes(value: number | null | undefined): string {
  if (value == null) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = value;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${i === 0 ? integer.format(v) : decimal.format(v)} ${units[i]}`;
}

export function ms(value: number | null | undefined): string {
  return value == null ? '–' : `${decimal.format(value)} ms`;
}

export function percent(value: number | null | undefined): string {
  return value == null ? '–' : `${decimal.format(value)}%`;
}

/**
 * Formatters for `when`, made once on first use: `toLocaleTimeString(locale, options)` builds a
 * new Intl.DateTimeFormat on every call, which was a measurable part of the portal's first
 * render (one call per gauge and per forecast row).
 */
let formats: { time: Intl.DateTimeFormat; date: Intl.DateTimeFormat } | null = null;

/** A moment in the viewer's local time, with the date when it is not today. */
export function when(iso: string, now = new Date()): string {
  formats ??= { time: new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' }), date: new Intl.DateTimeFormat('en-CA') };
  const t = new Date(iso);
  const sameDay = t.toDateString() === now.toDateString();
  const time = formats.time.format(t);
  return sameDay ? time : `${formats.date.format(t)} ${time}`;
}

/** A bucket start as the table view and exports show it: ISO without seconds, UTC. */
export function bucketLabel(iso: string): string {
  return iso.replace(/:\d\d\.\d{3}Z$/, 'Z').replace('T', ' ');
}
