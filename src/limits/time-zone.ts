/**
 * UTC offset of an IANA time zone at a moment, in minutes (e.g. -300 for New York in winter).
 * The calendar quota arithmetic itself runs on Redis time; only the offset comes from here, and
 * an offset changes only at DST transitions, so it is cached per zone for a minute.
 */
const cache = new Map<string, { offset: number; until: number }>();

export function utcOffsetMinutes(timeZone: string, now: number = Date.now()): number {
  const hit = cache.get(timeZone);
  if (hit && hit.until > now) return hit.offset;
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    .formatToParts(new Date(now))
    .find((p) => p.type === 'timeZoneName')?.value;
  // "GMT", "GMT+05:30", "GMT-03:00"
  const match = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name ?? '');
  if (!match) throw new Error(`cannot read the UTC offset of time zone "${timeZone}": ${name}`);
  const offset = match[1] ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
  cache.set(timeZone, { offset, until: now + 60_000 });
  return offset;
}
