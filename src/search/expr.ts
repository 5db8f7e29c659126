/**
 * The tiny arithmetic of a search range end: integers, parameter names, + − * / and parentheses,
 * e.g. `seq_len+1` or `(seq_len + 1) / 2`. Anything else is refused with the reason.
 */
export type Lookup = (name: string) => number | undefined;

export function evaluateExpression(text: string, lookup: Lookup): number {
  const tokens = text.match(/\s*([A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[-+*/()])\s*/g)?.map((t) => t.trim()) ?? [];
  if (tokens.join('') !== text.replace(/\s+/g, '')) throw new Error(`cannot read "${text}"`);
  let i = 0;
  const peek = () => tokens[i];
  const primary = (): number => {
    const t = tokens[i++];
    if (t === undefined) throw new Error(`"${text}" ends too early`);
    if (t === '(') {
      const v = sum();
      if (tokens[i++] !== ')') throw new Error(`"${text}": missing ")"`);
      return v;
    }
    if (t === '-') return -primary();
    if (/^\d/.test(t)) return Number(t);
    if (/^[A-Za-z_]/.test(t)) {
      const v = lookup(t);
      if (v === undefined) throw new Error(`"${t}" is not a numeric parameter set for this boundary`);
      return v;
    }
    throw new Error(`unexpected "${t}" in "${text}"`);
  };
  const product = (): number => {
    let v = primary();
    while (peek() === '*' || peek() === '/') v = tokens[i++] === '*' ? v * primary() : v / primary();
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === '+' || peek() === '-') v = tokens[i++] === '+' ? v + product() : v - product();
    return v;
  };
  const v = sum();
  if (i !== tokens.length) throw new Error(`unexpected "${tokens[i]}" in "${text}"`);
  return v;
}
