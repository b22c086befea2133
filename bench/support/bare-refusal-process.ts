import { createServer } from 'node:http';

/** What the gateway's 429 from memory carries for a Free key over its minute (its size and header count). */
const BODY = JSON.stringify({
  errors: [
    {
      message: 'Rate limit exceeded: the Free plan allows 100 requests per 1 minute. Retry in 59 s.',
      extensions: {
        code: 'RATE_LIMITED',
        plan: 'free',
        dimension: 'requests',
        policy: 'minute',
        limit: 100,
        window: '1 minute',
        retryAfterSeconds: 59,
        resetAt: '2026-12-06T02:03:05.997Z',
        documentation: 'http://localhost:4000/docs/limits#free',
      },
    },
  ],
});
const HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'content-length': String(Buffer.byteLength(BODY)),
  'retry-after': '59',
  'ratelimit-policy': '"minute";q=100;w=60, "day";q=1000;w=86400, "month";q=20000;w=2678400, "cost-minute";q=1000;w=60, "bytes-hour";q=50000000;w=3600',
  ratelimit: '"minute";r=0;t=59, "day";r=900;t=79073, "month";r=19900;t=2239073, "cost-minute";r=400;t=59, "bytes-hour";r=49939499;t=3600',
  'x-ratelimit-limit': '100',
  'x-ratelimit-remaining': '0',
  'x-ratelimit-reset': '1796522586',
  'x-request-id': 'f2611067-89f4-4309-ad3e-2bb4a31a1ea6',
  vary: 'Origin',
};

/** Answers counted at `GET /count`, so the scenario counts refusals as it does the gateway's. */
let answered = 0;
const server = createServer((request, response) => {
  if (request.url === '/count') {
    response.end(String(answered));
    return;
  }
  // Read the body as the gateway does (a keep-alive connection must consume it anyway).
  request.resume();
  request.on('end', () => {
    answered++;
    response.writeHead(429, HEADERS);
    response.end(BODY);
  });
});
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.(typeof address === 'object' && address ? address.port : 0);
});
