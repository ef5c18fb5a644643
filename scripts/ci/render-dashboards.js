#!/usr/bin/env node
// Draws the dashboards from a snapshot of real panel data (check-dashboards.js
// --snapshot) as PNG screenshots, for the docs; Grafana itself is not installable
// on the CI machines. Layout, titles, units and legends come from the dashboard
// JSON, so the picture shows what Grafana shows, in a plainer style.
//
//   node scripts/ci/render-dashboards.js SNAPSHOT.json OUT_DIR
//
// Writes OUT_DIR/<dashboard uid>.html and, with Debian's chromium installed,
// OUT_DIR/<dashboard uid>.png.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { execFileSync } = require('node:child_process');

const [snapFile, outDir] = process.argv.slice(2);
if (!snapFile || !outDir) {
  console.error('usage: render-dashboards.js SNAPSHOT.json OUT_DIR');
  process.exit(2);
}
const snap = JSON.parse(fs.readFileSync(snapFile, 'utf8'));
fs.mkdirSync(outDir, { recursive: true });

const COL = 52; // px per grid column (24 columns)
const ROW = 30; // px per grid row
const COLORS = [
  '#73bf69',
  '#f2cc0c',
  '#5794f2',
  '#ff9830',
  '#f2495c',
  '#b877d9',
  '#8ab8ff',
  '#fade2a',
  '#ca95e5',
  '#96d98d',
];
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

function fmt(v, unit) {
  if (!Number.isFinite(v)) return '–';
  const n = (x, d = 2) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(d));
  switch (unit) {
    case 'percentunit':
      return `${n(v * 100, 1)}%`;
    case 's':
      return v < 1 ? `${n(v * 1000)} ms` : `${n(v)} s`;
    case 'bytes': {
      const u = ['B', 'KiB', 'MiB', 'GiB'];
      let i = 0;
      while (v >= 1024 && i < u.length - 1) {
        v /= 1024;
        i++;
      }
      return `${n(v)} ${u[i]}`;
    }
    case 'reqps':
      return `${n(v)}/s`;
    default:
      return Number.isInteger(v) ? String(v) : n(v);
  }
}

const last = (s) => {
  for (let i = s.values.length - 1; i >= 0; i--) if (Number.isFinite(s.values[i][1])) return s.values[i][1];
  return NaN;
};

function timeseries(p, w, h) {
  const pad = { l: 62, r: 10, t: 6, b: 20 };
  const legendH = Math.min(p.series.length, 4) * 15 + 4;
  const ch = h - legendH;
  const all = p.series.flatMap((s) => s.values.filter(([, v]) => Number.isFinite(v)));
  const xmax = Math.max(1, snap.seconds);
  let ymax = Math.max(0, ...all.map(([, v]) => v));
  if (ymax === 0) ymax = 1;
  ymax *= 1.1;
  const X = (t) => pad.l + (t / xmax) * (w - pad.l - pad.r);
  const Y = (v) => pad.t + (1 - v / ymax) * (ch - pad.t - pad.b);
  let svg = '';
  for (let i = 0; i <= 4; i++) {
    const v = (ymax * i) / 4;
    svg += `<line x1="${pad.l}" x2="${w - pad.r}" y1="${Y(v)}" y2="${Y(v)}" stroke="#2c3235"/>`;
    svg += `<text x="${pad.l - 6}" y="${Y(v) + 4}" text-anchor="end">${esc(fmt(v, p.unit))}</text>`;
  }
  for (let t = 0; t <= xmax; t += Math.max(5, Math.ceil(xmax / 6 / 5) * 5)) {
    svg += `<text x="${X(t)}" y="${ch - 4}" text-anchor="middle">${t}s</text>`;
  }
  p.series.forEach((s, i) => {
    const pts = s.values.filter(([, v]) => Number.isFinite(v)).map(([t, v]) => `${X(t).toFixed(1)},${Y(v).toFixed(1)}`);
    if (pts.length)
      svg += `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.6" points="${pts.join(' ')}"/>`;
  });
  const legend = p.series
    .slice(0, 4)
    .map(
      (s, i) =>
        `<div class="lg"><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(s.legend)}<b>${esc(fmt(last(s), p.unit))}</b></div>`,
    )
    .join('');
  const more = p.series.length > 4 ? `<div class="lg">+${p.series.length - 4} more</div>` : '';
  return `<svg width="${w}" height="${ch}">${svg}</svg><div class="legend">${legend}${more}</div>`;
}

function stat(p) {
  const v = p.series.length ? last(p.series[0]) : NaN;
  return `<div class="stat">${esc(fmt(v, p.unit))}</div>`;
}

function bargauge(p, w) {
  const vals = p.series.map((s) => ({ l: s.legend, v: last(s) }));
  const max = Math.max(1, ...vals.map((x) => x.v).filter(Number.isFinite));
  return vals
    .map(
      (x, i) =>
        `<div class="bar"><span>${esc(x.l)}</span><div style="width:${Math.max(1, ((w - 170) * (x.v || 0)) / max)}px;background:${COLORS[i % COLORS.length]}"></div><b>${esc(fmt(x.v, p.unit))}</b></div>`,
    )
    .join('');
}

function page(d) {
  let height = 0;
  const panels = d.panels
    .map((p) => {
      const g = p.gridPos;
      height = Math.max(height, (g.y + g.h) * ROW);
      const w = g.w * COL - 8;
      const h = g.h * ROW - 8;
      const body = p.type === 'stat' ? stat(p) : p.type === 'bargauge' ? bargauge(p, w) : timeseries(p, w - 12, h - 34);
      return `<div class="panel" style="left:${g.x * COL}px;top:${g.y * ROW}px;width:${w}px;height:${h}px"><h3>${esc(p.title)}</h3>${body}</div>`;
    })
    .join('\n');
  const counts = Object.entries(snap.counts || {})
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(d.title)}</title><style>
body{margin:0;background:#111217;color:#ccccdc;font:12px "DejaVu Sans",sans-serif}
header{padding:10px 14px;font-size:16px;color:#fff} header small{color:#8e8e8e;font-size:11px;margin-left:12px}
main{position:relative;margin:0 8px;width:${24 * COL}px;height:${height}px}
.panel{position:absolute;background:#181b1f;border:1px solid #2c3235;border-radius:3px;padding:4px 6px;box-sizing:border-box;overflow:hidden}
h3{margin:0 0 4px;font-size:12px;color:#fff;font-weight:500}
svg text{fill:#8e8e8e;font-size:10px}
.legend{font-size:10px}.lg{white-space:nowrap;overflow:hidden;height:15px}.lg i{display:inline-block;width:10px;height:3px;margin:0 5px 3px 0}.lg b{float:right;font-weight:normal;color:#ccccdc}
.stat{font-size:42px;color:#73bf69;text-align:center;margin-top:40px}
.bar{display:flex;align-items:center;margin:6px 0}.bar span{width:80px}.bar div{height:14px;margin:0 8px}.bar b{font-weight:normal}
</style></head><body><header>${esc(d.title)}<small>rendered from real panel data: built api + worker, Prometheus scraping every 1 s, ${snap.tasks} tasks (${esc(counts)}) over ${Math.round(snap.seconds)} s, ${esc(snap.takenAt)}</small></header><main>
${panels}
</main></body></html>`;
}

function chromium() {
  for (const c of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      execFileSync('which', [c], { stdio: 'ignore' });
      return c;
    } catch {
      /* next */
    }
  }
  return null;
}

const browser = chromium();
for (const d of snap.dashboards) {
  const html = path.join(outDir, `${d.uid}.html`);
  fs.writeFileSync(html, page(d));
  if (!browser) {
    console.log(`wrote ${html} (no chromium: apt-get install chromium for the PNG)`);
    continue;
  }
  const height = Math.max(...d.panels.map((p) => (p.gridPos.y + p.gridPos.h) * ROW)) + 60;
  const png = path.join(outDir, `${d.uid}.png`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'taskq-render-'));
  try {
    // Flags as on this machine kind's notes: no background networking (the
    // network is closed), a fresh profile, no sandbox as root.
    execFileSync(
      browser,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        '--hide-scrollbars',
        `--window-size=${24 * COL + 16},${height}`,
        `--screenshot=${png}`,
        `file://${path.resolve(html)}`,
      ],
      { stdio: 'ignore', timeout: 60000 },
    );
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
  fs.rmSync(html);
  console.log(`wrote ${png}`);
}
