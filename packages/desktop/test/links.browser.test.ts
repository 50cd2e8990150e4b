import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, openPage, screenshot } from './helpers/browser.js'
import {
  joinTribe,
  newMember,
  type Running,
  startNode,
  startUi,
  TempDirs,
  tapestry,
  type UiReady,
  until,
} from './helpers/cli.js'

/**
 * Two tribes, each a steward's real node (`tapestry start`), and Cy, a member of Ada's
 * tribe; Ada's and Cy's pages are `tapestry ui` attached to their nodes, in headless
 * Chromium. Ada proposes a federation link from the page, Bo accepts its offer with the
 * CLI, and Ada ends it from the page again.
 */
interface Link {
  linkId: string
  status: string
  tribeB?: { name: string }
}

const dirs = new TempDirs()
const procs: Running<unknown>[] = []
let browser: Browser
let ada: Awaited<ReturnType<typeof newMember>>
let bo: Awaited<ReturnType<typeof newMember>>
let adaUi: Running<UiReady>
let page: Page
let cyPage: Page
let offer = ''
const pageErrors: string[] = []

const federation = (dataDir: string) => tapestry<Link[]>(dataDir, ['federation'])
const linksRow = (name: RegExp) => page.getByRole('row', { name })

beforeAll(async () => {
  browser = await launchChromium()
  ada = await newMember(dirs, 'Ada', 'River Folk')
  bo = await newMember(dirs, 'Bo', 'Hill Folk')
  procs.push(await startNode(ada.dataDir), await startNode(bo.dataDir))
  const cy = `${await dirs.make()}/cy`
  await tapestry(cy, ['init', '--name', 'Cy'])
  await joinTribe(ada.dataDir, cy)
  procs.push(await startNode(cy))
  adaUi = await startUi(ada.dataDir)
  const cyUi = await startUi(cy)
  procs.push(adaUi, cyUi)
  ;({ page } = await openPage(browser, adaUi.ready.url))
  ;({ page: cyPage } = await openPage(browser, cyUi.ready.url))
  for (const p of [page, cyPage]) p.on('pageerror', (e) => pageErrors.push(e.message))
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await Promise.all(procs.map((p) => p.stop()))
  await dirs.cleanup()
  expect(pageErrors).toEqual([])
})

describe('the Links view', () => {
  it('a steward proposes from the page; once the other tribe accepts, the link is active with its name', async () => {
    await page.getByRole('link', { name: 'Links' }).click()
    await page.getByRole('heading', { name: 'Links', level: 2 }).waitFor()
    await page.getByText('No link yet').waitFor()

    await page.getByRole('button', { name: 'Create an offer' }).click()
    const code = page
      .locator('form', { has: page.getByRole('heading', { name: 'Propose a link' }) })
      .getByLabel('Offer code')
    await expect.poll(() => code.inputValue()).toMatch(/^tapestry-federate-1:/)
    offer = await code.inputValue()
    expect(
      await page.getByRole('alert').filter({ hasText: 'it holds the link’s network key' }).count(),
    ).toBe(1)
    await expect.poll(() => linksRow(/not accepted yet/).textContent()).toMatch(/proposed/)

    await tapestry(bo.dataDir, ['federate', 'accept', offer])
    await until(
      async () => (await federation(ada.dataDir)).some((l) => l.status === 'active'),
      'the link active on Ada’s node',
      30_000,
    )
    const row = linksRow(/Hill Folk/)
    await expect.poll(() => row.textContent(), { timeout: 20_000 }).toMatch(/active/)
    expect(await row.textContent()).toMatch(/echoes, narratives/)
    expect(await row.textContent()).toMatch(/by Ada of River Folk/)
    // The offer is shown once, to this page, until it is spent; `tapestry ui` never prints it.
    const proposing = page.locator('form', {
      has: page.getByRole('heading', { name: 'Propose a link' }),
    })
    expect(await proposing.getByLabel('Offer code').count()).toBe(0)
    expect(JSON.stringify(adaUi.lines) + adaUi.stderr()).not.toContain(offer.slice(20))
    await screenshot(page, 'links-01-active')
  })

  it('a member who is not a steward sees the link, with nothing to change', async () => {
    await cyPage.getByRole('link', { name: 'Links' }).click()
    const row = cyPage.getByRole('row', { name: /Hill Folk/ })
    await expect.poll(() => row.textContent(), { timeout: 30_000 }).toMatch(/active/)
    expect(await cyPage.getByRole('button', { name: /^End the link/ }).count()).toBe(0)
    expect(await cyPage.getByRole('button', { name: 'Create an offer' }).count()).toBe(0)
  })

  it('a federated narrative is marked in the weave with the tribe it comes from', async () => {
    await tapestry(bo.dataDir, [
      'narrate',
      '--title',
      'Songs from the hill',
      '--body',
      'We sing them at the first snow.',
      '--mood',
      'joyful',
      '--audience',
      'federated',
    ])
    await page.getByRole('link', { name: 'Tapestry' }).click()
    const marked = page.getByRole('button', {
      name: /^Songs from the hill, by .*, from Hill Folk,/,
    })
    await until(async () => (await marked.count()) === 1, 'Bo’s narrative on Ada’s page', 30_000)
    expect(await page.locator('.lane-names .origin').textContent()).toBe('from Hill Folk')
    await marked.locator('.dot').click()
    await page
      .getByRole('list', { name: 'About this narrative' })
      .getByText('from Hill Folk')
      .waitFor()
    await screenshot(page, 'links-02-weave')
    await page.getByRole('button', { name: 'Close the narrative' }).click()
  })

  it('a steward ends the link from the page; `tapestry federation` reports it ended', async () => {
    await page.getByRole('link', { name: 'Links' }).click()
    const confirmed: string[] = []
    page.once('dialog', (d) => {
      confirmed.push(d.message())
      void d.accept()
    })
    await page.getByRole('button', { name: 'End the link with Hill Folk' }).click()
    await expect.poll(() => linksRow(/Hill Folk/).textContent()).toMatch(/ended/)
    expect(confirmed[0]).toMatch(/^End the link with Hill Folk\?/)
    expect(await page.getByRole('button', { name: /^End the link/ }).count()).toBe(0)
    const [link] = await federation(ada.dataDir)
    expect(link).toMatchObject({ status: 'ended', tribeB: { name: 'Hill Folk' } })
    await until(
      async () => (await federation(bo.dataDir)).every((l) => l.status === 'ended'),
      'the end reached Bo’s node',
      30_000,
    )
    await screenshot(page, 'links-03-ended')
  })
})
