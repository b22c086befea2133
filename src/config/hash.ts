import { createHash } from 'node:crypto';

/**
 * The lowercase hex SHA-256 of a token, as written in the config's `sha256` fields. Only hashes
 * are stored, so a leaked config file does not leak working credentials; callers compare the
 * result with `crypto.timingSafeEqual` so a comparison takes the same time wherever it differs.
 */
export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
