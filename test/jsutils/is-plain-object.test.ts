import { describe, expect, it } from 'vitest';
import { isPlainObject } from '../../src/jsutils/is-plain-object.js';

describe('isPlainObject', () => {
  it('accepts what a parser gives for {...}, and refuses null, arrays and scalars', () => {
    expect([JSON.parse('{}'), { a: 1 }, Object.create(null)].map(isPlainObject)).toEqual([true, true, true]);
    expect([null, undefined, [], JSON.parse('[1]'), 'x', 1, true].map(isPlainObject)).toEqual([false, false, false, false, false, false, false]);
  });
});
