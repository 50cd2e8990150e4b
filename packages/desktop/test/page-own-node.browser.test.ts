import type { Browser } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, openPage, screenshot } from './helpers/browser.js'
import {
  newMember,
  type Running,
  startNode,
  startUi,
  TempDirs,
  tapestry,
  until,
} from './helpers/cli.js'

/**
 * One member's page: with `tapestry ui` running the node itself, keyboard use, the list
 * view, and changes written while the node was away (kept in the page, sent on return).
 */
const dirs = new TempDirs()
const procs: Running<unknown>[] = []
let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()))
  await dirs.cleanup()
})
afterAll(async () => {
  await browser?.close()
})

describe('one member’s page', () => {
  it('runs the node itself, shows CLI writes live, and works from the keyboard', async () => {
    const ada = await newMember(dirs, 'Ada')
    for (const [t, mood] of [
      ['Morning at the ford', 'hopeful'],
      ['The long walk home', 'reflective'],
    ]) {
      await tapestry(ada.dataDir, [
        'narrate',
        '--title',
        t!,
        '--body',
        `${t} — a story.`,
        '--mood',
        mood!,
      ])
    }
    const ui = await startUi(ada.dataDir)
    procs.push(ui)
    expect(ui.ready.mode).toBe('own')
    const { page, context, errors } = await openPage(browser, ui.ready.url)
    await until(async () => (await page.locator('.node').count()) === 2, 'two narratives')
    await expect
      .poll(() => page.locator('.sync').textContent())
      .toMatch(/this window runs your node/)

    // Through the UI's own control API: the CLI writes, the page shows it without reloading.
    await tapestry(ada.dataDir, [
      'narrate',
      '--title',
      'Written while the page was open',
      '--body',
      'b',
      '--mood',
      'joyful',
    ])
    await until(
      async () =>
        (await page
          .getByRole('button', { name: /^Written while the page was open, by Ada/ })
          .count()) === 1,
      'the CLI narrative',
    )

    // Keyboard: arrows walk the weave in time, Enter opens, Escape closes.
    await page.locator('.node').first().focus()
    await page.keyboard.press('ArrowRight')
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label')))
      .toMatch(/^The long walk home, by Ada/)
    await page.keyboard.press('Enter')
    await expect
      .poll(() => page.getByRole('article').getByRole('heading', { level: 2 }).textContent())
      .toBe('The long walk home')
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByRole('article').count()).toBe(0)

    await page.getByRole('button', { name: 'List' }).click()
    const items = page.locator('.list-item .list-title')
    await expect
      .poll(() => items.allTextContents())
      .toEqual(['Written while the page was open', 'The long walk home', 'Morning at the ford'])
    await screenshot(page, '08-list')
    expect(errors).toEqual([])
    await context.close()
  })

  it('keeps what is written while the node is away, and sends it when the node returns', async () => {
    const ada = await newMember(dirs, 'Ada')
    let node = await startNode(ada.dataDir)
    procs.push(node)
    const ui = await startUi(ada.dataDir)
    procs.push(ui)
    const { page, context, errors } = await openPage(browser, ui.ready.url)
    await expect.poll(() => page.locator('.sync').getAttribute('data-state')).toBe('live')
    await node.stop()
    await expect
      .poll(() => page.locator('.sync').getAttribute('data-state'), { timeout: 30_000 })
      .toBe('offline')

    await page.getByRole('button', { name: 'New narrative' }).click()
    const dialog = page.getByRole('dialog', { name: 'New narrative' })
    await dialog.getByLabel('Title').fill('Written offline')
    await dialog.getByLabel('Story').fill('The node was away.')
    await dialog.getByRole('button', { name: 'Write narrative' }).click()
    await expect.poll(() => page.locator('.sync').textContent()).toMatch(/1 waiting to be sent/)
    await screenshot(page, '09-offline-pending')
    // Kept in IndexedDB: a reload while the node is away does not lose it.
    await page.reload()
    await expect.poll(() => page.locator('.sync').textContent()).toMatch(/1 waiting to be sent/)

    node = await startNode(ada.dataDir)
    procs.push(node)
    await until(
      async () =>
        (await tapestry<{ title: string }[]>(ada.dataDir, ['narratives'])).some(
          (n) => n.title === 'Written offline',
        ),
      'the narrative stored once the node is back',
      30_000,
    )
    await until(async () => (await page.locator('.node').count()) === 1, 'it woven on the page')
    await expect.poll(() => page.locator('.sync').textContent()).not.toMatch(/waiting/)
    expect((await tapestry<unknown[]>(ada.dataDir, ['narratives'])).length).toBe(1)
    expect(errors).toEqual([])
    await context.close()
  })
})
