'use strict';

/** min / median / max of a list of numbers (benches report all three, never one run). */
function summary(values) {
  const v = [...values].sort((a, b) => a - b);
  if (!v.length) throw new RangeError('summary of no values');
  return { min: v[0], median: v[Math.floor(v.length / 2)], max: v[v.length - 1] };
}

const fmt = (s, unit = 'ms', digits = 0) => `min ${s.min.toFixed(digits)} / median ${s.median.toFixed(digits)} / max ${s.max.toFixed(digits)} ${unit}`;

module.exports = { summary, fmt };
