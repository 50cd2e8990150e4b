import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, openPage, screenshot } from './helpers/browser.js'
import { until } from './helpers/cli.js'
import { fakeUi, syntheticTapestry } from './helpers/fake-ui.js'

/**
 * The weave with 5,000 narratives, measured in Chromium: the page's own
 * `performance.measure('tapestry:weave')` spans layout and the DOM commit of each
 * render. Figures are printed, never asserted (timing depends on the machine).
 */
let browser: Browser
let server: Awaited<ReturnType<typeof fakeUi>>
beforeAll(async () => {
  browser = await launchChromium()
  server = await fakeUi(syntheticTapestry(5000))
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

interface Measure {
  duration: number
  narratives: number
}
const measures = () =>
  performance.getEntriesByName('tapestry:weave').map((e) => ({
    duration: e.duration,
    narratives: ((e as PerformanceMeasure).detail as { narratives: number }).narratives,
  }))

describe('the weave with 5,000 narratives', () => {
  it('renders only what the window shows, every visible title named, and scrolls in small steps', async () => {
    const { page, errors } = await openPage(browser, server.url)
    await until(
      async () => (await page.locator('.weave-count').textContent())?.startsWith('5000'),
      'the weave of 5,000',
    )
    const first = (await page.evaluate(measures)).filter((m: Measure) => m.narratives === 5000)
    expect(first.length).toBeGreaterThan(0)
    const shown = await page.locator('.node').count()
    expect(shown).toBeGreaterThan(5)
    expect(shown).toBeLessThan(400)
    // Every node in the DOM has its title as text (<title>) and in its accessible name.
    const named = await page.$$eval('.node', (gs) =>
      gs.every((g) => {
        const t = g.querySelector('title')?.textContent ?? ''
        return t.length > 0 && (g.getAttribute('aria-label') ?? '').startsWith(t)
      }),
    )
    expect(named).toBe(true)
    await screenshot(page, '07-weave-5000')

    // Scroll back through time in 24 steps, one frame each.
    const before = (await page.evaluate(measures)).length
    const frames: number[] = await page.evaluate(async () => {
      const el = document.querySelector<HTMLElement>('.weave-scroll')!
      const out: number[] = []
      const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))
      for (let i = 0; i < 24; i++) {
        const t0 = performance.now()
        el.scrollLeft -= el.clientWidth / 3
        await frame()
        out.push(performance.now() - t0)
      }
      return out
    })
    const scrolled = (await page.evaluate(measures)).slice(before).map((m: Measure) => m.duration)
    // Zoom out twice (a full relayout of 5,000 each time).
    const zoomStart = (await page.evaluate(measures)).length
    await page.getByRole('button', { name: 'Zoom out' }).click()
    await page.getByRole('button', { name: 'Zoom out' }).click()
    await until(
      async () => (await page.evaluate(measures)).length >= zoomStart + 2,
      'two zoomed renders',
    )
    const zoomed = (await page.evaluate(measures)).slice(zoomStart).map((m: Measure) => m.duration)

    const med = (xs: number[]) =>
      [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN
    console.log(
      [
        'weave, 5,000 narratives (Chromium, this machine):',
        `  first render (layout + DOM): ${first[0]!.duration.toFixed(1)} ms; nodes in the DOM: ${shown}`,
        `  scroll: ${scrolled.length} renders, median ${med(scrolled).toFixed(1)} ms, max ${Math.max(...scrolled).toFixed(1)} ms; frame (2 rAF) median ${med(frames).toFixed(1)} ms`,
        `  zoom out: ${zoomed.map((d) => d.toFixed(1)).join(', ')} ms`,
      ].join('\n'),
    )
    expect(errors).toEqual([])
    await page.context().close()
  })
})
