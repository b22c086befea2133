/** Offers `text` as a file download (a blob URL, revoked once the click has been handled). */
export function download(filename: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** `usage-globex-hour-20261122T1500Z[-client-globex-admin].csv`: safe characters only. */
export function exportName(parts: { tenant: string; granularity: string; from: string; filter: string | null }, ext: 'csv' | 'json'): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');
  const from = `${parts.from.slice(0, 16).replace(/[-:]/g, '')}Z`;
  return `usage-${safe(parts.tenant)}-${parts.granularity.toLowerCase()}-${from}${parts.filter ? `-${safe(parts.filter)}` : ''}.${ext}`;
}
