import { fillRow } from '../../data/sequences';
import { forwardRow, predictRow, type FusedNet } from './forward';

/**
 * Outputs for every population row k = 0..L (row k: k leading zeros, then L−k ones).
 *
 * With masking on, a masked step carries h and c unchanged, so row k runs exactly the first
 * L−k steps of the all-ones row from the zero state: ONE forward pass of length L gives every
 * row's final hidden state (h after step s is row L−s's), and each output is the Dense head
 * on it. The per-row path computes the same numbers with the same operations in the same order,
 * so the two agree exactly (test/train/population.test.ts); it remains for masking off, where
 * leading zeros do enter the LSTM.
 */
export function populationOutputs(net: FusedNet, out: Float64Array = new Float64Array(net.seqLen + 1)): Float64Array {
  if (!net.masking) return populationOutputsPerRow(net, out);
  const L = net.seqLen;
  const u = net.units;
  forwardRow(net, onesRow(L), 0);
  const p = net.params;
  const d0 = net.layout.dense;
  const db = p[net.layout.denseBias]!;
  const hs = net.hs;
  for (let k = 0; k <= L; k++) {
    const h0 = (L - k) * u; // hidden state after L−k unmasked steps; slot 0 is the zero state
    let o = db;
    for (let j = 0; j < u; j++) o += p[d0 + j]! * hs[h0 + j]!;
    out[k] = net.relu && o < 0 ? 0 : o;
  }
  return out;
}

/** The plain reference: every row forward on its own. */
export function populationOutputsPerRow(net: FusedNet, out: Float64Array = new Float64Array(net.seqLen + 1)): Float64Array {
  const L = net.seqLen;
  const row = new Float32Array(L);
  for (let k = 0; k <= L; k++) {
    fillRow(row, 0, L, k);
    out[k] = predictRow(net, row, 0);
  }
  return out;
}

const ones = new Map<number, Float32Array>();
function onesRow(L: number): Float32Array {
  let r = ones.get(L);
  if (!r) ones.set(L, (r = new Float32Array(L).fill(1)));
  return r;
}
