/**
 * Every mermaid diagram of every Markdown file of the repository (the README, docs/, the generated ER
 * diagrams) renders: mermaid itself (the npm package, pinned) renders each block to SVG in Debian's
 * Chromium (installed by .ci/run, never downloaded), driven by playwright-core, so a diagram that
 * GitHub would show as "Unable to render" fails here with mermaid's own parse error.
 *
 * Without Chromium the tests are skipped (the reason in their names), except in CI (CI=true), where
 * they fail: .ci/run installs it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { browserTest, HAVE_CHROMIUM, launchChromium } from '@logistics/testkit/chromium'
import type { Browser, Page } from 'playwright-core'
import { codeBlocks, markdownFiles, readMarkdown } from './markdown'

const MERMAID = require.resolve('mermaid/dist/mermaid.min.js')
const MERMAID_VERSION = (JSON.parse(readFileSync(require.resolve('mermaid/package.json'), 'utf8')) as { version: string }).version

const diagrams = markdownFiles().flatMap((file) =>
  codeBlocks(readMarkdown(file))
    .filter((b) => b.lang === 'mermaid')
    .map((b) => ({ file, line: b.line, code: b.code })),
)

let browser: Browser | undefined
let page: Page | undefined

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return
  browser = await launchChromium(['--renderer-process-limit=1'])
  page = await browser.newPage()
  await page.setContent('<!doctype html><html><body></body></html>')
  await page.addScriptTag({ content: readFileSync(MERMAID, 'utf8') })
  await page.evaluate(() =>
    (globalThis as unknown as { mermaid: { initialize(c: object): void } }).mermaid.initialize({ startOnLoad: false }),
  )
}, 120_000)

afterAll(async () => {
  await browser?.close()
})

/** Renders one diagram with mermaid in the page: undefined when it renders, else mermaid's error. */
async function renderError(code: string, id: string): Promise<string | undefined> {
  return page!.evaluate(
    async ({ code, id }) => {
      const mermaid = (globalThis as unknown as { mermaid: { render(id: string, text: string): Promise<{ svg: string }> } }).mermaid
      try {
        const { svg } = await mermaid.render(id, code)
        return svg.includes('<svg') ? undefined : 'mermaid rendered no SVG'
      } catch (error) {
        return String((error as Error)?.message ?? error)
      }
    },
    { code, id },
  )
}

describe(`mermaid ${MERMAID_VERSION} renders every diagram of every Markdown file`, () => {
  test('the diagrams are found: the README architecture, the order sequence, both ER diagrams', () => {
    expect(diagrams.length).toBeGreaterThanOrEqual(4)
    expect(diagrams.filter((d) => d.file === 'docs/data-model.md' && d.code.startsWith('erDiagram'))).toHaveLength(2)
    expect(diagrams.some((d) => d.file === 'README.md' && d.code.startsWith('flowchart'))).toBe(true)
    expect(diagrams.some((d) => d.code.startsWith('sequenceDiagram'))).toBe(true)
  })

  browserTest(
    'a broken diagram fails (a `;` inside a sequence message ends the statement)',
    async () => {
      const error = await renderError('sequenceDiagram\n  A->>B: one; two\n  B-->>A: ok\n', 'broken')
      expect(error).toContain('Parse error')
    },
    { timeout: 30_000 },
  )

  for (const [i, d] of diagrams.entries())
    browserTest(
      `${d.file}:${d.line} (${d.code.split('\n')[0]})`,
      async () => {
        const error = await renderError(d.code, `diagram-${i}`)
        expect(error, `${d.file}:${d.line} does not render`).toBeUndefined()
      },
      { timeout: 30_000 },
    )
})
