'use strict';

// Line charts to PNG for the benchmarks. pngjs only encodes pixels, so this file
// carries its own rasteriser and bitmap font; nothing else is needed on the bench box.

const fs = require('fs');
const { PNG } = require('pngjs');

// 5×9 font: a glyph is up to 9 rows (7 above the baseline, 2 for descenders), each row a
// base-32 digit whose 5 bits are the pixels left to right; trailing blank rows are omitted.
const CHARS = " ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz%.,:;/-+()[]_@#=<>*'\"!?×≥≤→|~";
const GLYPHS = (
  '0 ehhvhhh uhhuhhu ehggghe uhhhhhu vgguggv vgguggg ehgnhhf hhhvhhh e44444e 72222ic hikokih ' +
  'ggggggv hrllhhh hhpljhh ehhhhhe uhhuggg ehhhlid uhhukih fgge11u v444444 hhhhhhe hhhhha4 hhhllla ' +
  'hha4ahh hha4444 v1248gv ehjlphe 4c4444e eh1248v v2421he 26aiv22 vgu11he 68guhhe v124888 ehhehhe ' +
  'ehhf12c 00e1fhf ggmphhu 00egghe 11djhhf 00ehvge 698s888 00fhhhf1e ggmphhh 40c444e 2062222ic ' +
  'ggikoki c44444e 00qllll 00mphhh 00ehhhe 00uhhhugg 00fhhhf11 00mpggg 00fge1u 88s8896 00hhhjd ' +
  '00hhha4 00hhlla 00ha4ah 00hhhhf1e 00v248v op248j3 00000cc 00000cc48 0cc0cc 0cc0cc48 01248g 000v ' +
  '044v44 2488842 8422248 e88888e e22222e 0000000v ehnlngf aavavaa 00v0v 248g842 8421248 04lel4 448 ' +
  'aaa 4444404 eh12404 0ha4ah 842480v 248420v 042v24 4444444 008l2'
).split(' ');
const FONT = new Map([...CHARS].map((c, i) => [c, [...GLYPHS[i]].map((d) => parseInt(d, 32))]));
const BOX = [...'vhhhhhv'].map((d) => parseInt(d, 32)); // unknown characters stay visible as a box

// Distinguishable on white and for the common colour-blindness types (Tableau 10 subset).
const PALETTE = [[31, 119, 180], [214, 39, 40], [44, 160, 44], [255, 127, 14], [148, 103, 189], [140, 86, 75]];
const INK = [40, 40, 40];
const GRID = [228, 228, 228];
const S = 2; // text scale: 5×7 at 1× is unreadable at 1200 px wide
const LINE_H = 9 * S; // one text line incl. descenders

const textWidth = (str, scale = S) => Math.max(0, [...String(str)].length * 6 * scale - scale);

/** RGBA pixel buffer with the few drawing primitives a chart needs; all clip to the image. */
function canvas(width, height) {
  const png = new PNG({ width, height });
  png.data.fill(255); // opaque white
  const set = (x, y, c) => {
    x = Math.round(x); y = Math.round(y);
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = (y * width + x) * 4;
    png.data[i] = c[0]; png.data[i + 1] = c[1]; png.data[i + 2] = c[2]; png.data[i + 3] = 255;
  };
  const rect = (x, y, w, h, c) => {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) set(x + i, y + j, c);
  };
  // Bresenham with a square brush: cheap thick lines without anti-aliasing.
  const line = (x0, y0, x1, y1, c, thick = 1) => {
    [x0, y0, x1, y1] = [x0, y0, x1, y1].map(Math.round);
    const dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    const off = Math.floor((thick - 1) / 2);
    for (let err = dx + dy; ;) {
      rect(x0 - off, y0 - off, thick, thick, c);
      if (x0 === x1 && y0 === y1) return;
      const e2 = 2 * err;
      if (e2 >= dy) { err += dy; x0 += sx; }
      if (e2 <= dx) { err += dx; y0 += sy; }
    }
  };
  // (x, y) is the top-left of the text; vertical text reads bottom-to-top with (x, y) its bottom-left.
  const text = (str, x, y, c, scale = S, vertical = false) => {
    [...String(str)].forEach((ch, k) => {
      (FONT.get(ch) || BOX).forEach((bits, row) => {
        for (let col = 0; col < 5; col++) {
          if (!(bits & (16 >> col))) continue;
          const u = k * 6 + col;
          if (vertical) rect(x + row * scale, y - (u + 1) * scale, scale, scale, c);
          else rect(x + u * scale, y + row * scale, scale, scale, c);
        }
      });
    });
  };
  return { png, set, rect, line, text };
}

/** Axis from 0 (or a negative minimum) to a "nice" bound above the data, ~5 ticks. */
function niceAxis(values) {
  let lo = Math.min(0, ...values), hi = Math.max(0, ...values);
  if (hi === lo) hi = lo + 1; // all-zero data still gets a drawable 0..1 axis
  const raw = (hi - lo) / 5, mag = 10 ** Math.floor(Math.log10(raw));
  const step = mag * [1, 2, 2.5, 5, 10].find((m) => m * mag >= raw * (1 - 1e-9));
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  const ticks = [];
  // Multiply instead of accumulating so 0.1-steps don't drift into 0.30000000000000004.
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) ticks.push(lo + i * step);
  return { lo, hi, ticks };
}

function fmtTick(v) {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(6)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(6)}k`; // keeps y labels narrow
  return String(+v.toFixed(6));
}

const validPoints = (pts) => pts.filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]));

function checkSpec(file, spec) {
  if (typeof file !== 'string' || !file) throw new TypeError('plotPng: file must be a non-empty string');
  if (!spec || typeof spec !== 'object') throw new TypeError('plotPng: spec must be an object');
  if (!Array.isArray(spec.panels) || !spec.panels.length) throw new TypeError('plotPng: spec.panels must be a non-empty array');
  for (const k of ['width', 'height', 'columns']) {
    if (spec[k] !== undefined && !(Number.isInteger(spec[k]) && spec[k] > 0)) throw new TypeError(`plotPng: spec.${k} must be a positive integer`);
  }
  for (const p of spec.panels) {
    if (!p || typeof p !== 'object' || !Array.isArray(p.series)) throw new TypeError('plotPng: each panel needs a series array');
    for (const s of p.series) {
      if (!s || typeof s !== 'object' || typeof s.name !== 'string' || !Array.isArray(s.points)) {
        throw new TypeError('plotPng: each series needs a string name and a points array');
      }
    }
  }
}

/** Greedy left-to-right wrap of legend entries into rows that fit `width`. */
function legendRows(names, width) {
  const rows = [[]];
  let used = 0;
  for (const name of names) {
    const w = 20 + textWidth(name) + 24; // swatch + gap, name, spacing
    if (used && used + w - 24 > width) { rows.push([]); used = 0; }
    rows[rows.length - 1].push({ name, dx: used });
    used += w;
  }
  return rows;
}

/** Draws one panel into the box (x, y, w, h); `legendN` rows are reserved so panels align. */
function drawPanel(cv, panel, box, colours, legendN) {
  const series = panel.series.map((s) => ({ name: s.name, pts: validPoints(s.points) })).filter((s) => s.pts.length);
  const all = series.flatMap((s) => s.pts);
  const xa = niceAxis(all.map((p) => p[0])), ya = niceAxis(all.map((p) => p[1]));
  const yLabelW = Math.max(...ya.ticks.map((t) => textWidth(fmtTick(t))));
  const left = box.x + 16 + (panel.yLabel ? LINE_H + 8 : 0) + yLabelW + 8;
  const right = box.x + box.w - 36; // room for half of the last x tick label
  const top = box.y + (panel.title ? LINE_H + 24 : 16); // markers at the max must clear the title
  const bottom = box.y + box.h - 8 - legendN * (LINE_H + 6) - (panel.xLabel ? LINE_H + 8 : 0) - LINE_H - 18;
  const px = (v) => left + ((v - xa.lo) / (xa.hi - xa.lo)) * (right - left);
  const py = (v) => bottom - ((v - ya.lo) / (ya.hi - ya.lo)) * (bottom - top);

  if (panel.title) cv.text(panel.title, box.x + (box.w - textWidth(panel.title)) / 2, box.y + 6, INK);
  for (const t of ya.ticks) {
    cv.line(left, py(t), right, py(t), GRID);
    cv.line(left - 5, py(t), left, py(t), INK);
    cv.text(fmtTick(t), left - 8 - textWidth(fmtTick(t)), py(t) - 7 * S / 2, INK);
  }
  for (const t of xa.ticks) {
    cv.line(px(t), top, px(t), bottom, GRID);
    cv.line(px(t), bottom, px(t), bottom + 5, INK);
    cv.text(fmtTick(t), px(t) - textWidth(fmtTick(t)) / 2, bottom + 10, INK);
  }
  cv.line(left, top, left, bottom, INK, 2);
  cv.line(left, bottom, right, bottom, INK, 2);
  if (panel.yLabel) cv.text(panel.yLabel, box.x + 12, (top + bottom + textWidth(panel.yLabel)) / 2, INK, S, true);
  let y = bottom + 10 + LINE_H + 10;
  if (panel.xLabel) { cv.text(panel.xLabel, (left + right - textWidth(panel.xLabel)) / 2, y, INK); y += LINE_H + 8; }

  for (const s of series) {
    const c = colours.get(s.name);
    s.pts.forEach((p, i) => i && cv.line(px(s.pts[i - 1][0]), py(s.pts[i - 1][1]), px(p[0]), py(p[1]), c, 3));
    for (const p of s.pts) cv.rect(Math.round(px(p[0])) - 4, Math.round(py(p[1])) - 4, 9, 9, c);
  }
  legendRows(series.map((s) => s.name), box.w - 32).forEach((row, r) => {
    for (const { name, dx } of row) {
      const ly = y + r * (LINE_H + 6);
      cv.rect(box.x + 16 + dx, ly + 1, 12, 12, colours.get(name));
      cv.text(name, box.x + 16 + dx + 20, ly, INK);
    }
  });
}

/**
 * Renders spec.panels (line charts) side by side, or in a grid of spec.columns, into a PNG at `file`.
 * spec: { title?, width?, height?, columns?, panels: [{ title?, xLabel?, yLabel?, series: [{ name, points: [[x, y]…] }] }] }
 */
function plotPng(file, spec) {
  checkSpec(file, spec);
  const n = spec.panels.length;
  const cols = Math.min(spec.columns || n, n), rows = Math.ceil(n / cols);
  const width = spec.width || 600 * cols, titleH = spec.title ? 3 * 9 + 20 : 0;
  const height = spec.height || 500 * rows + (rows > 1 ? titleH : 0);
  const cv = canvas(width, height);
  if (spec.title) cv.text(spec.title, (width - textWidth(spec.title, 3)) / 2, 12, INK, 3);

  // Colour by first appearance over all panels so a stack keeps its colour everywhere; empty
  // series count too, so a stack that failed this run doesn't shift the others' colours.
  const colours = new Map();
  for (const p of spec.panels) for (const s of p.series) {
    if (!colours.has(s.name)) colours.set(s.name, PALETTE[colours.size % PALETTE.length]);
  }
  const pw = Math.floor(width / cols), ph = Math.floor((height - titleH) / rows);
  const legendN = Math.max(...spec.panels.map((p) => {
    const names = p.series.filter((s) => validPoints(s.points).length).map((s) => s.name);
    return names.length ? legendRows(names, pw - 32).length : 0;
  }));
  spec.panels.forEach((panel, i) => {
    const box = { x: (i % cols) * pw, y: titleH + Math.floor(i / cols) * ph, w: pw, h: ph };
    drawPanel(cv, panel, box, colours, legendN);
  });
  fs.writeFileSync(file, PNG.sync.write(cv.png));
}

module.exports = { plotPng };
