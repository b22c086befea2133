import { createHash } from 'node:crypto';

/**
 * The lowercase hex SHA-256 of a text (as UTF-8): what `printf %s TEXT | sha256sum` prints. The
 * one SHA-256 of a string in the gateway: API key hashes (the config's `sha256` fields: only
 * hashes are stored, so a leaked config file does not leak working credentials; the
 * authenticator compares them with `crypto.timingSafeEqual`), config change detection, trusted
 * document ids, APQ hashes, cache keys and alert ids.
 */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
