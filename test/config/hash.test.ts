import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/config/hash.js';

describe('sha256Hex', () => {
  it('returns the lowercase hex SHA-256 that `printf %s TOKEN | sha256sum` prints', () => {
    // FIPS 180-2 test vector.
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes the token as UTF-8, as a shell would pass it', () => {
    expect(sha256Hex('é')).toBe('4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c');
  });
});
