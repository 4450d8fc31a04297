import { test } from 'bun:test'
import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

/**
 * Debian's Chromium for the browser tests (installed by .ci/run, never downloaded), driven by
 * playwright-core. Without it a browser test is skipped, the reason in its name, except in CI
 * (CI=true), where it fails.
 */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
export const HAVE_CHROMIUM = existsSync(CHROMIUM)
const IN_CI = !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase())
const SKIPPED = `[needs Chromium at ${CHROMIUM}: skipped outside CI; apt-get install -y chromium]`

/** A browser test: run with Chromium; without it skipped (named) outside CI, failed in CI. */
export function browserTest(name: string, fn: () => Promise<void>, options: { timeout: number }) {
  if (HAVE_CHROMIUM) test(name, fn, options.timeout)
  else if (IN_CI)
    test(name, () => {
      throw new Error(`CI=true and no Chromium at ${CHROMIUM}: .ci/run installs it with apt-get install -y chromium`)
    })
  else test.skip(`${name} ${SKIPPED}`, fn)
}

/** Headless Chromium without its background services; playwright gives each context a fresh, temporary profile. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  })
}
