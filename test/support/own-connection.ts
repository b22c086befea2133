import { type ClientRequest, request } from 'node:http';

/**
 * A POST to `/graphql` on a connection of its own (no agent, no keep-alive pool), for a test to
 * play a client that leaves: `destroy()` closes that connection and nothing else. With no
 * `body`, the request is left open for the test to write (a body it can cut short). Errors of
 * the connection it closes itself are expected and ignored.
 */
export function postOnOwnConnection(
  gatewayUrl: string,
  token: string,
  options: { body?: string; contentLength?: number; headers?: Record<string, string> } = {},
): ClientRequest {
  const { body } = options;
  const sent = request(`${gatewayUrl}/graphql`, {
    method: 'POST',
    agent: false,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'content-length': options.contentLength ?? Buffer.byteLength(body ?? ''),
      ...options.headers,
    },
  });
  sent.on('error', () => {});
  if (body !== undefined) sent.end(body);
  return sent;
}
