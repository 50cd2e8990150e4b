/**
 * The bench's HTML report: the table, a bar chart of each row's ratio against its goal,
 * and line charts (cost against size: documents, nodes, patches) for the series workloads
 * provide; sweeps with few sizes get marked, labelled points. Plain inline SVG,
 * no scripts and no external assets, so it opens from disk anywhere.
 */
import type { BenchResult, Series } from './harness.js'

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`) as string

function fmt(n: number): string {
  const a = Math.abs(n)
  if (a >= 100) return n.toFixed(0)
  if (a >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

function goalTarget(goal: string): { op: 'max' | 'min'; target: number } | null {
  const m = /^\s*(≤|≥|<=|>=|<|>)\s*([0-9]*\.?[0-9]+)/.exec(goal)
  if (!m) return null
  return { op: m[1] === '≥' || m[1] === '>=' || m[1] === '>' ? 'min' : 'max', target: Number(m[2]) }
}

/** Horizontal bars: one per row with a ratio, a tick at its goal, green when met. */
export function ratioChart(results: readonly BenchResult[]): string {
  const rows = results.filter((r) => r.ratio !== null && Number.isFinite(r.ratio))
  if (rows.length === 0) return '<p>No ratios measured.</p>'
  const labelW = 260
  const plotW = 480
  const barH = 22
  const gap = 10
  const top = 24
  const height = top + rows.length * (barH + gap) + 24
  const max =
    Math.max(...rows.map((r) => Math.max(r.ratio!, goalTarget(r.goal)?.target ?? 0)), 1) * 1.1
  const x = (v: number) => labelW + (v / max) * plotW
  const parts: string[] = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 80}" height="${height}" font-family="sans-serif" font-size="12">`,
  )
  parts.push(`<text x="${labelW}" y="14" fill="#444">ratio (bar) and goal (dashed tick)</text>`)
  rows.forEach((r, i) => {
    const y = top + i * (barH + gap)
    const color = r.met === null ? '#888' : r.met ? '#3a9d5d' : '#d0473a'
    parts.push(
      `<text x="${labelW - 8}" y="${y + barH * 0.7}" text-anchor="end">${esc(r.name)}</text>`,
    )
    parts.push(
      `<rect x="${labelW}" y="${y}" width="${Math.max(1, x(r.ratio!) - labelW)}" height="${barH}" fill="${color}"/>`,
    )
    parts.push(
      `<text x="${x(r.ratio!) + 4}" y="${y + barH * 0.7}">${fmt(r.ratio!)}x (${esc(r.goal)})</text>`,
    )
    const g = goalTarget(r.goal)
    if (g) {
      parts.push(
        `<line x1="${x(g.target)}" x2="${x(g.target)}" y1="${y - 3}" y2="${y + barH + 3}" stroke="#000" stroke-dasharray="3,2"/>`,
      )
    }
  })
  const axisY = top + rows.length * (barH + gap)
  parts.push(
    `<line x1="${labelW}" x2="${labelW + plotW}" y1="${axisY}" y2="${axisY}" stroke="#999"/>`,
  )
  for (const v of [0, max / 2, max]) {
    parts.push(
      `<text x="${x(v)}" y="${axisY + 14}" text-anchor="middle" fill="#666">${fmt(v)}x</text>`,
    )
  }
  parts.push('</svg>')
  return parts.join('\n')
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b']

/** A line chart of one series (cost against size). */
export function lineChart(s: Series): string {
  const W = 640
  const H = 320
  const L = 70
  const R = 180
  const T = 30
  const B = 44
  const pts = s.lines.flatMap((l) => l.points)
  if (pts.length === 0) return ''
  const maxX = Math.max(...pts.map((p) => p[0]), 1)
  const maxY = Math.max(...pts.map((p) => p[1]), 1e-9) * 1.05
  const x = (v: number) => L + (v / maxX) * (W - L - R)
  const y = (v: number) => H - B - (v / maxY) * (H - T - B)
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<text x="${L}" y="16" font-weight="bold">${esc(s.title)}</text>`,
    `<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#999"/>`,
    `<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#999"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle" fill="#444">${esc(s.xLabel)}</text>`,
    `<text x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${(T + H - B) / 2})" text-anchor="middle" fill="#444">${esc(s.yLabel)}</text>`,
  ]
  for (const f of [0, 0.5, 1]) {
    parts.push(
      `<text x="${x(maxX * f)}" y="${H - B + 14}" text-anchor="middle" fill="#666">${fmt(maxX * f)}</text>`,
      `<text x="${L - 6}" y="${y(maxY * f) + 4}" text-anchor="end" fill="#666">${fmt(maxY * f)}</text>`,
    )
  }
  s.lines.forEach((l, i) => {
    const color = PALETTE[i % PALETTE.length]!
    const d = l.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p[0])},${y(p[1])}`).join(' ')
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`)
    // Few points (a sweep over sizes: documents, nodes): mark and label each one.
    if (l.points.length <= 12) {
      for (const [px, py] of l.points) {
        parts.push(
          `<circle cx="${x(px)}" cy="${y(py)}" r="3.5" fill="${color}"/>`,
          `<text x="${x(px) + 5}" y="${y(py) - 6}" font-size="10" fill="${color}">${fmt(py)}</text>`,
        )
      }
    }
    parts.push(
      `<rect x="${W - R + 10}" y="${T + i * 18}" width="12" height="3" fill="${color}"/>`,
      `<text x="${W - R + 28}" y="${T + i * 18 + 5}">${esc(l.label)}</text>`,
    )
  })
  parts.push('</svg>')
  return parts.join('\n')
}

export function renderReport(
  results: readonly BenchResult[],
  series: readonly Series[],
  meta: Record<string, string | number | boolean>,
): string {
  const cell = (v: number | null, unit: string) => (v === null ? '—' : `${fmt(v)} ${esc(unit)}`)
  const rows = results
    .map(
      (r) =>
        `<tr><td>${esc(r.name)}</td><td>${cell(r.value, r.unit)}</td><td>${cell(r.baseline, r.unit)}</td>` +
        `<td>${r.ratio === null ? '—' : `${fmt(r.ratio)}x`}</td><td>${esc(r.goal)}</td>` +
        `<td>${r.met === null ? '—' : r.met ? 'yes' : '<b>NO</b>'}</td></tr>`,
    )
    .join('\n')
  const details = results
    .filter((r) => r.details)
    .map(
      (r) =>
        `<h3>${esc(r.name)}</h3><ul>${Object.entries(r.details!)
          .map(([k, v]) => `<li>${esc(k)}: ${esc(typeof v === 'number' ? fmt(v) : v)}</li>`)
          .join('')}</ul>`,
    )
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tapestry bench</title>
<style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}</style>
</head><body>
<h1>Tapestry bench</h1>
<p>${Object.entries(meta)
    .map(([k, v]) => `${esc(k)}: ${esc(String(v))}`)
    .join(' · ')}</p>
<table><tr><th>name</th><th>Tapestry</th><th>baseline</th><th>ratio</th><th>goal</th><th>met?</th></tr>
${rows}
</table>
<h2>Ratios against goals</h2>
${ratioChart(results)}
${series.length > 0 ? '<h2>Cost against size</h2>' : ''}
${series.map(lineChart).join('\n')}
<h2>Details</h2>
${details}
<p>Editing traces: Joseph Gentle's editing-traces collection, CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/).</p>
</body></html>
`
}
