/** A strict-enough parser of the Prometheus text format 0.0.4, for tests. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  help: Map<string, string>;
  types: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Throws with the line number on the first line that is not valid exposition text. */
export function parsePrometheusText(text: string): Exposition {
  const help = new Map<string, string>();
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const fail = (why: string): never => {
      throw new Error(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === '') return;
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!meta) return; // a plain comment
      const [, keyword, name, rest] = meta as unknown as [string, string, string, string];
      if (!NAME.test(name)) fail('bad metric name');
      if (keyword === 'HELP') help.set(name, rest);
      else {
        if (!TYPES.has(rest)) fail('bad type');
        if (types.has(name)) fail('second TYPE line');
        types.set(name, rest);
      }
      return;
    }
    const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (!head) fail('no metric name');
    const name = head![1]!;
    let i = name.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i += 1;
      while (line[i] !== '}') {
        const eq = line.indexOf('=', i);
        if (eq < 0) fail('label without =');
        const labelName = line.slice(i, eq);
        if (!LABEL_NAME.test(labelName)) fail(`bad label name ${labelName}`);
        if (line[eq + 1] !== '"') fail('label value not quoted');
        let value = '';
        let j = eq + 2;
        for (; j < line.length && line[j] !== '"'; j += 1) {
          if (line[j] === '\\') {
            const next = line[j + 1];
            if (next === 'n') value += '\n';
            else if (next === '\\' || next === '"') value += next;
            else fail('bad escape');
            j += 1;
          } else value += line[j];
        }
        if (j >= line.length) fail('unterminated label value');
        if (labelName in labels) fail(`duplicate label ${labelName}`);
        labels[labelName] = value;
        i = j + 1;
        if (line[i] === ',') i += 1;
        else if (line[i] !== '}') fail('expected , or }');
      }
      i += 1;
    }
    const rest = /^ (\S+)( -?\d+)?$/.exec(line.slice(i));
    if (!rest) fail('expected " value [timestamp]"');
    const raw = rest![1]!;
    // Prometheus reads values with Go's strconv.ParseFloat, which takes NaN and Inf in any case
    // (prom-client writes `Nan`).
    const special = /^([+-]?)(nan|inf)$/i.exec(raw);
    const value = special ? (special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(raw);
    if (!special && !Number.isFinite(value)) fail('bad value');
    samples.push({ name, labels, value });
  });
  for (const sample of samples) {
    const family = familyOf(sample.name, types);
    if (!family) throw new Error(`sample ${sample.name} has no TYPE line`);
  }
  return { help, types, samples };
}

/** The declared family a sample belongs to (`x_bucket` belongs to histogram `x`). */
export function familyOf(sampleName: string, types: Map<string, string>): string | undefined {
  if (types.has(sampleName)) return sampleName;
  const base = sampleName.replace(/_(bucket|sum|count)$/, '');
  const type = types.get(base);
  return type === 'histogram' || type === 'summary' ? base : undefined;
}
