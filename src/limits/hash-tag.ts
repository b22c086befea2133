/** The Redis Cluster hash tag of a key (`rl:{acme}:req:m` -> `acme`), or the key itself. */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}
