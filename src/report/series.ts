/**
 * Thinning a learning curve for drawing: a report with hundreds of runs must stay small enough to
 * open and mail, and a line 200 px wide cannot show more than about a point per pixel or two.
 */

export interface SeriesPoint { x: number; y: number }

/**
 * At most `max` points (at least 2) of a series sorted by x. First the interior points equal to
 * both neighbours are dropped, which loses nothing when drawn with straight segments (a run whose
 * output is stuck repeats one value); then, if still too many, points are kept at evenly spaced
 * positions, always with the first and the last, so the curve ends where the run ended.
 */
export function downsampleSeries<T extends SeriesPoint>(points: readonly T[], max = 100): T[] {
  if (max < 2) throw new RangeError(`downsampleSeries: max must be at least 2, got ${max}`);
  const kept = points.filter((p, i) => i === 0 || i === points.length - 1 || !(p.y === points[i - 1]!.y && p.y === points[i + 1]!.y));
  if (kept.length <= max) return kept;
  const out: T[] = [];
  for (let j = 0; j < max; j++) out.push(kept[Math.round((j * (kept.length - 1)) / (max - 1))]!);
  return out;
}
