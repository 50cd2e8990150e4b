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
 * Three members on one machine, each a real node (`tapestry start`) on a temp data
 * directory, joined by invitation; Ada's and Bo's pages are `tapestry ui` attached to
 * their nodes, in one headless Chromium. Screenshots of each view go to artifacts/.
 */
const dirs = new TempDirs()
const procs: Running<unknown>[] = []
let browser: Browser
let ada: Awaited<ReturnType<typeof newMember>>
let bo: { dataDir: string; memberId: string }
let cy: { dataDir: string; memberId: string }
let adaNode: Running<unknown>
let adaUi: Running<UiReady>
let adaPage: Page
let boPage: Page
const pageErrors: string[] = []

const narratives = (dataDir: string) =>
  tapestry<{ id: string; title: string; status: string }[]>(dataDir, ['narratives'])
const has = async (dataDir: string, title: string) =>
  (await narratives(dataDir)).some((n) => n.title === title)
/** A narrative in the weave, found by its accessible name (its title comes first). */
const node = (page: Page, title: string) =>
  page.locator('.node', { has: page.locator('title', { hasText: title }) })

beforeAll(async () => {
  browser = await launchChromium()
  ada = await newMember(dirs, 'Ada')
  const seed: [string, string, string, string][] = [
    [
      'The flood of ’98',
      'We carried the boats up the hill, one by one, while the river took the lower fields.',
      'grieving',
      'river,flood',
    ],
    [
      'First harvest after the flood',
      'Corn, beans, squash: the three sisters came back.',
      'joyful',
      'harvest',
    ],
    ['How the bridge was named', 'Nobody agrees, and that is the story.', 'playful', 'river,names'],
  ]
  for (const [title, body, mood, tags] of seed) {
    await tapestry(ada.dataDir, [
      'narrate',
      '--title',
      title,
      '--body',
      body,
      '--mood',
      mood,
      '--tags',
      tags,
    ])
  }
  adaNode = await startNode(ada.dataDir)
  procs.push(adaNode)
  for (const name of ['Bo', 'Cy']) {
    const dataDir = `${await dirs.make()}/${name.toLowerCase()}`
    const { memberId } = await tapestry<{ memberId: string }>(dataDir, ['init', '--name', name])
    await joinTribe(ada.dataDir, dataDir)
    procs.push(await startNode(dataDir))
    await until(() => has(dataDir, 'The flood of ’98'), `${name} synced with Ada`, 30_000)
    if (name === 'Bo') bo = { dataDir, memberId }
    else cy = { dataDir, memberId }
  }
  await tapestry(bo.dataDir, [
    'narrate',
    '--title',
    'Bo’s song for the river',
    '--body',
    'A song in four verses.',
    '--mood',
    'tender',
    '--tags',
    'river,song',
  ])
  await tapestry(cy.dataDir, [
    'narrate',
    '--title',
    'The winter we ran out of salt',
    '--body',
    'We traded stories for salt.',
    '--mood',
    'reflective',
    '--tags',
    'winter',
  ])
  await tapestry(bo.dataDir, [
    'echo',
    (await narratives(bo.dataDir)).find((n) => n.title === 'The flood of ’98')!.id,
    '--body',
    'My grandmother kept the oars.',
  ])

  adaUi = await startUi(ada.dataDir)
  procs.push(adaUi)
  const boUi = await startUi(bo.dataDir)
  procs.push(boUi)
  expect(adaUi.ready.mode).toBe('attached')
  ;({ page: adaPage } = await openPage(browser, adaUi.ready.url))
  ;({ page: boPage } = await openPage(browser, boUi.ready.url))
  for (const p of [adaPage, boPage]) p.on('pageerror', (e) => pageErrors.push(e.message))
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await Promise.all(procs.map((p) => p.stop()))
  await dirs.cleanup()
  expect(pageErrors).toEqual([])
})

describe('the tapestry in a browser, two members side by side', () => {
  it('weaves every member’s narratives, each title in the DOM as text and accessible name', async () => {
    await until(
      async () => (await node(adaPage, 'The winter we ran out of salt').count()) === 1,
      'Cy’s narrative on Ada’s page',
    )
    for (const title of [
      'The flood of ’98',
      'First harvest after the flood',
      'How the bridge was named',
      'Bo’s song for the river',
    ]) {
      await expect.poll(() => node(adaPage, title).count()).toBe(1)
      expect(await adaPage.getByRole('button', { name: new RegExp(`^${title}, by`) }).count()).toBe(
        1,
      )
    }
    // One thread per member; Bo's echo is a knot tied to the flood.
    expect(await adaPage.locator('.thread').count()).toBe(3)
    expect(await adaPage.locator('.knot').count()).toBe(1)
    await expect.poll(() => adaPage.locator('.sync').getAttribute('data-state')).toBe('live')
    await expect.poll(() => adaPage.locator('.sync').textContent()).toMatch(/2 peers/)
    await screenshot(adaPage, '01-weave')
  })

  it('shows a narrative written with the CLI live, on the writer’s page and on another member’s', async () => {
    await tapestry(ada.dataDir, [
      'narrate',
      '--title',
      'Written in the terminal',
      '--body',
      'Hello from the CLI.',
      '--mood',
      'hopeful',
    ])
    await until(
      async () => (await node(adaPage, 'Written in the terminal').count()) === 1,
      'the CLI narrative on Ada’s page',
    )
    await until(
      async () => (await node(boPage, 'Written in the terminal').count()) === 1,
      'the CLI narrative on Bo’s page',
      30_000,
    )
  })

  it('stores a narrative written in the page (the CLI lists it) and weaves it on the other page', async () => {
    await boPage.getByRole('button', { name: 'New narrative' }).click()
    const dialog = boPage.getByRole('dialog', { name: 'New narrative' })
    await dialog.getByLabel('Title').fill('Written in the browser')
    await dialog.getByLabel('Story').fill('Typed into the page.\n\nTwo paragraphs.')
    await dialog.getByLabel('Tags').fill('river, page')
    await dialog.getByLabel('Mood').fill('hopeful')
    await dialog.getByLabel(/^circle/).check()
    await dialog.getByLabel('Ada').check()
    await screenshot(boPage, '02-new-narrative')
    await dialog.getByRole('button', { name: 'Write narrative' }).click()
    await expect.poll(() => dialog.isVisible()).toBe(false)
    const stored = await until(
      async () =>
        (
          await tapestry<{ title: string; audience: string; tags: string[]; mood: string }[]>(
            bo.dataDir,
            ['narratives'],
          )
        ).find((n) => n.title === 'Written in the browser'),
      'the page’s narrative in Bo’s store',
    )
    expect(stored).toMatchObject({
      audience: `circle:${ada.memberId}`,
      tags: ['river', 'page'],
      mood: 'hopeful',
    })
    await until(
      async () => (await node(adaPage, 'Written in the browser').count()) === 1,
      'Bo’s page narrative on Ada’s page',
      30_000,
    )
  })

  it('opens a narrative in the reader and answers it with an echo, which knots on the other page', async () => {
    await node(adaPage, 'Bo’s song for the river').locator('.dot').click()
    const reader = adaPage.getByRole('article')
    await expect
      .poll(() => reader.getByRole('heading', { level: 2 }).textContent())
      .toBe('Bo’s song for the river')
    await expect.poll(() => reader.textContent()).toContain('A song in four verses.')
    await reader.getByLabel('Your echo').fill('I sang it at the bridge.')
    await reader.getByRole('button', { name: 'Echo' }).click()
    await expect.poll(() => reader.locator('.echo').count()).toBe(1)
    expect(await reader.locator('.echo').textContent()).toContain('I sang it at the bridge.')
    await until(
      async () =>
        (await node(boPage, 'Bo’s song for the river').getAttribute('aria-label'))?.includes(
          '1 echo',
        ),
      'the echo on Bo’s page',
      30_000,
    )
    await screenshot(adaPage, '03-reader')
  })

  it('filters by author, tag, mood and audience', async () => {
    const filters = adaPage.getByRole('form', { name: 'Filter the tapestry' })
    await filters.getByLabel('Tag').selectOption('river')
    await expect.poll(() => adaPage.locator('.node').count()).toBe(4)
    await filters.getByLabel('Mood').selectOption('tender')
    await expect.poll(() => adaPage.locator('.node').count()).toBe(1)
    await filters.getByRole('button', { name: 'Clear filters' }).click()
    await filters.getByLabel('Author').selectOption({ label: 'Cy' })
    await expect.poll(() => adaPage.locator('.node').count()).toBe(1)
    await filters.getByRole('button', { name: 'Clear filters' }).click()
    await filters.getByLabel('Audience').selectOption('circle')
    await expect.poll(() => adaPage.locator('.node').count()).toBe(1)
    await filters.getByRole('button', { name: 'Clear filters' }).click()
    await expect.poll(() => adaPage.locator('.node').count()).toBe(7)
  })

  it('shows a withdrawal in the consent dashboard with who confirmed the erasure', async () => {
    await tapestry(ada.dataDir, ['narrate', '--title', 'Said too soon', '--body', 'Better unsaid.'])
    await until(
      async () => (await has(bo.dataDir, 'Said too soon')) && has(cy.dataDir, 'Said too soon'),
      'the narrative on Bo’s and Cy’s nodes',
      30_000,
    )
    await until(
      async () => (await node(adaPage, 'Said too soon').count()) === 1,
      'it on Ada’s page',
    )
    await node(adaPage, 'Said too soon').locator('.dot').click()
    adaPage.once('dialog', (d) => void d.accept())
    await adaPage.getByRole('button', { name: 'Withdraw this narrative' }).click()
    await until(
      async () => (await node(adaPage, 'Said too soon').count()) === 0,
      'it gone from Ada’s page',
    )
    await until(
      async () => (await node(boPage, 'Said too soon').count()) === 0,
      'it gone from Bo’s page',
      30_000,
    )

    await adaPage.getByRole('link', { name: 'Consent' }).click()
    const row = adaPage.getByRole('row', { name: /withdrawn/ })
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1)
    // Every member's node confirms its erasure (the author's too); the dashboard follows.
    const id = (await narratives(ada.dataDir)).find((n) => n.status === 'withdrawn')!.id
    await until(
      async () =>
        (await tapestry<{ confirmed: unknown[] }>(ada.dataDir, ['receipts', id])).confirmed
          .length === 3,
      'three erasure receipts on Ada’s node (hers, Bo’s, Cy’s)',
      30_000,
    )
    await until(
      async () => {
        await adaPage.getByRole('link', { name: 'Tapestry' }).click()
        await adaPage.getByRole('link', { name: 'Consent' }).click()
        return /3 confirmed/.test((await row.textContent({ timeout: 2000 })) ?? '')
      },
      'three erasure receipts on the dashboard',
      10_000,
    )
    await row.locator('summary').click()
    expect(await row.textContent()).toMatch(/Bo.*Cy|Cy.*Bo/)
    await screenshot(adaPage, '04-consent')
  })

  it('shows the roster and who is connected now', async () => {
    await adaPage.getByRole('link', { name: 'Members & peers' }).click()
    const roster = adaPage.getByRole('table')
    await expect.poll(() => roster.getByRole('row').count()).toBe(4)
    await expect
      .poll(() => roster.getByRole('row', { name: /Bo/ }).textContent())
      .toMatch(/connected/)
    await expect
      .poll(() => roster.getByRole('row', { name: /Cy/ }).textContent())
      .toMatch(/connected/)
    expect(await adaPage.getByRole('img', { name: /2 of 2 other members connected/ }).count()).toBe(
      1,
    )
    await adaPage.getByRole('button', { name: 'Create an invitation' }).click()
    await expect.poll(() => adaPage.getByLabel('Invitation code').first().inputValue()).not.toBe('')
    expect(await adaPage.getByRole('alert').textContent()).toMatch(/secret/)
    await screenshot(adaPage, '05-members')
    await adaPage.getByRole('link', { name: 'Tapestry' }).click()
  })

  it('co-editing the same body from two pages converges, live, and the nodes agree', async () => {
    const title = 'Written together'
    const { narrativeId } = await tapestry<{ narrativeId: string }>(ada.dataDir, [
      'narrate',
      '--title',
      title,
      '--body',
      'Start.',
    ])
    await tapestry(ada.dataDir, ['coauthor', narrativeId, bo.memberId])
    const show = (dataDir: string) =>
      tapestry<{ body: string; authors: string[] }>(dataDir, ['show', narrativeId])
    await until(
      async () => (await show(bo.dataDir).catch(() => undefined))?.authors.length === 2,
      'Bo is a co-author on his node',
      30_000,
    )
    const editors = []
    for (const page of [adaPage, boPage]) {
      await until(async () => (await node(page, title).count()) === 1, `${title} woven`, 30_000)
      await node(page, title).locator('.dot').click()
      const editor = page.getByRole('article').locator('.cm-content')
      await until(
        async () => (await editor.count()) === 1 && (await editor.textContent()) === 'Start.',
        'the editor open on the body',
        30_000,
      )
      editors.push(editor)
    }
    const [adaEditor, boEditor] = editors as [
      ReturnType<Page['locator']>,
      ReturnType<Page['locator']>,
    ]
    await adaEditor.click()
    await adaPage.keyboard.press('Control+End')
    await boEditor.click()
    await boPage.keyboard.press('Control+Home')
    // Both type at once.
    await Promise.all([
      adaPage.keyboard.type(' Ada was here.', { delay: 20 }),
      boPage.keyboard.type('Bo wrote first. ', { delay: 20 }),
    ])
    const expected = 'Bo wrote first. Start. Ada was here.'
    await until(
      async () =>
        (await adaEditor.textContent()) === expected && (await boEditor.textContent()) === expected,
      'both pages converge',
      30_000,
    )
    await until(
      async () =>
        (await show(ada.dataDir)).body === expected && (await show(bo.dataDir)).body === expected,
      'both nodes hold the edited body',
      30_000,
    )
    await screenshot(adaPage, '10-editor')
    await adaPage.getByRole('button', { name: 'Close the narrative' }).click()
    await boPage.getByRole('button', { name: 'Close the narrative' }).click()
  })

  it('reloads offline from IndexedDB when the node stops, and when tapestry ui stops too', async () => {
    await until(
      async () => (await node(adaPage, 'Written in the browser').count()) === 1,
      'the last state on Ada’s page',
    )
    await adaNode.stop()
    await expect
      .poll(() => adaPage.locator('.sync').textContent(), { timeout: 15_000 })
      .toMatch(/your node is not running/)
    // The server has no data for the page now: what the page shows comes from its cache.
    const snap = await adaPage.evaluate(
      async () => (await fetch(`api/snapshot${location.search}`)).status,
    )
    expect(snap).toBe(503)
    await adaPage.reload()
    await until(
      async () => (await node(adaPage, 'Written in the browser').count()) === 1,
      'the cached weave after a reload',
    )
    expect(await adaPage.locator('.node').count()).toBe(8)
    await expect.poll(() => adaPage.locator('.sync').textContent()).toMatch(/Offline/)
    await screenshot(adaPage, '06-offline')

    // tapestry ui gone as well: the service worker serves the page, IndexedDB the weave.
    await until(
      () => adaPage.evaluate(async () => !!(await navigator.serviceWorker.ready).active),
      'the service worker',
    )
    await adaUi.stop()
    await adaPage.reload()
    await until(
      async () => (await node(adaPage, 'Written in the browser').count()) === 1,
      'the cached weave without tapestry ui',
    )
    await expect
      .poll(() => adaPage.locator('.sync').textContent())
      .toMatch(/tapestry ui is not answering/)
  })
})
