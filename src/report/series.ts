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
  return evenlySpaced(dropFlatRepeats(points, (a, b) => a.y === b.y), max);
}

/**
 * The points without the interior ones that are `same` as both neighbours: drawn with straight
 * segments, the line is unchanged. The first and the last point are always kept.
 */
export function dropFlatRepeats<T>(points: readonly T[], same: (a: T, b: T) => boolean): T[] {
  return points.filter((p, i) => i === 0 || i === points.length - 1 || !(same(p, points[i - 1]!) && same(p, points[i + 1]!)));
}

/** At most `max` items (at least 2) at evenly spaced positions, always with the first and the last. */
export function evenlySpaced<T>(items: readonly T[], max: number): T[] {
  if (max < 2) throw new RangeError(`evenlySpaced: max must be at least 2, got ${max}`);
  if (items.length <= max) return [...items];
  const out: T[] = [];
  for (let j = 0; j < max; j++) out.push(items[Math.round((j * (items.length - 1)) / (max - 1))]!);
  return out;
}
