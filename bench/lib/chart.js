'use strict';
/**
 * The README's benchmark chart: one bar per row of the results table, the same-run ratio taskq/anchor,
 * drawn as an SVG (no dependency, renders on GitHub). Rows where more is better (throughput) are green
 * when taskq is ahead (ratio > 1); rows where less is better (bytes, RSS, CPU, latency) are green when
 * the ratio is below 1. The dashed line is parity.
 */
const WIDTH = 980;
const LABEL_WIDTH = 560;
const BAR_HEIGHT = 16;
const GAP = 6;
const TOP = 44;

const escape = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** rows: [{ label, anchor, ratio, higherIsBetter }] */
function ratioChart(title, rows) {
  const max = Math.max(2, Math.ceil(Math.max(...rows.map((r) => r.ratio)) * 2) / 2);
  const plot = WIDTH - LABEL_WIDTH - 70;
  const x = (ratio) => LABEL_WIDTH + (ratio / max) * plot;
  const height = TOP + rows.length * (BAR_HEIGHT + GAP) + 30;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escape(title)}</text>`,
    `<text x="10" y="36" fill="#555">ratio taskq / anchor, same run; green: taskq better (faster, or smaller where less is better)</text>`,
  ];
  rows.forEach((row, i) => {
    const y = TOP + i * (BAR_HEIGHT + GAP);
    const better = row.higherIsBetter ? row.ratio >= 1 : row.ratio <= 1;
    parts.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y + 12}" text-anchor="end">${escape(`${row.label} vs ${row.anchor}`)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y}" width="${Math.max(1, x(row.ratio) - LABEL_WIDTH).toFixed(1)}" height="${BAR_HEIGHT}" fill="${better ? '#2e9e5b' : '#d0573a'}"/>`,
      `<text x="${(x(row.ratio) + 4).toFixed(1)}" y="${y + 12}">${row.ratio.toFixed(2)}×</text>`,
    );
  });
  const axisY = TOP + rows.length * (BAR_HEIGHT + GAP);
  for (let tick = 0; tick <= max; tick += 0.5) {
    parts.push(`<text x="${x(tick).toFixed(1)}" y="${axisY + 16}" text-anchor="middle" fill="#555">${tick}×</text>`);
  }
  parts.push(
    `<line x1="${x(1).toFixed(1)}" y1="${TOP - 4}" x2="${x(1).toFixed(1)}" y2="${axisY}" stroke="#333" stroke-dasharray="4 3"/>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

module.exports = { ratioChart };
