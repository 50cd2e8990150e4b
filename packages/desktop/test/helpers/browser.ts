import { access, mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url))

/** Debian's Chromium, headless. Fails (never skips) when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  try {
    await access(CHROMIUM)
  } catch {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (the browser tests need it)`,
    )
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}

/** A page that fails the test on any uncaught error in it, sized like a laptop screen. */
export async function openPage(
  browser: Browser,
  url: string,
  context?: BrowserContext,
): Promise<{ page: Page; context: BrowserContext; errors: string[] }> {
  const ctx =
    context ??
    (await browser.newContext({ viewport: { width: 1360, height: 860 }, deviceScaleFactor: 1 }))
  const page = await ctx.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(url)
  return { page, context: ctx, errors }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true })
  const path = `${ARTIFACTS}${name}.png`
  await page.screenshot({ path })
  return path
}
