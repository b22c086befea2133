/** A small fetch wrapper for the sample-services tests: JSON in, JSON out, tenant header set. */
export interface CallOptions {
  method?: string;
  /** x-tenant-id; null sends none (default 'acme'). */
  tenant?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface CallResult<T> {
  status: number;
  headers: Headers;
  body: T;
}

export async function call<T = unknown>(url: string, options: CallOptions = {}): Promise<CallResult<T>> {
  const tenant = options.tenant === undefined ? 'acme' : options.tenant;
  const headers: Record<string, string> = { ...options.headers };
  if (tenant !== null) headers['x-tenant-id'] = tenant;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const response = await fetch(url, { method: options.method ?? 'GET', headers, body, signal: options.signal });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
}
