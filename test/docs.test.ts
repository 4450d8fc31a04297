/**
 * The documentation: what scripts/docs.ts generates from the code (docs/api.md, docs/data-model.md,
 * docs/environment.md, the README's walkthrough blocks) must match what the code generates now; every
 * relative link of every Markdown file resolves (file and #anchor) and none points outside the
 * repository; no table is kept in two places; the README stays short. The diagrams: test/diagrams.test.ts.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core'
import { ConfigSchema as DeliveryConfigSchema } from '../delivery/src/config'
import { schema as deliverySchema } from '../delivery/src/db'
import { ConfigSchema as EcommerceConfigSchema } from '../ecommerce/src/config'
import * as ecommerceSchema from '../ecommerce/src/db/schema'
import { openApiDocuments, renderDocs, syncWalkthrough } from '../scripts/docs'
import { renderEnvironment } from '../scripts/docs-environment'
import { anchors, markdownFiles, ROOT, readMarkdown, withoutCode } from './markdown'

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

describe('docs/', () => {
  let docs: Awaited<ReturnType<typeof openApiDocuments>>
  beforeAll(async () => {
    docs = await openApiDocuments()
  }, 60_000)

  test('every generated file is up to date (otherwise run `bun run docs`)', async () => {
    const files = await renderDocs(docs)
    const stale = Object.entries(files)
      .filter(([path, text]) => {
        try {
          return read(path) !== text
        } catch {
          return true
        }
      })
      .map(([path]) => `${path} is out of date: run \`bun run docs\` and commit the result`)
    expect(stale).toEqual([])
  })

  test('api.md lists every route of both OpenAPI documents', async () => {
    const api = read('docs/api.md')
    let count = 0
    for (const doc of [docs.delivery, docs.ecommerce])
      for (const [path, item] of Object.entries(doc.paths))
        for (const [method, operation] of Object.entries<any>(item)) {
          if (path.startsWith('/swagger') || operation.tags?.includes('docs')) continue
          expect(api).toContain(`#### \`${method.toUpperCase()} ${path}\``)
          count++
        }
    expect(count).toBeGreaterThan(30)
  })

  test('data-model.md has an ER diagram with every table of both drizzle schemas', () => {
    const model = read('docs/data-model.md')
    expect(model.match(/```mermaid\nerDiagram/g)?.length).toBe(2)
    for (const schema of [deliverySchema, ecommerceSchema] as Record<string, unknown>[])
      for (const table of Object.values(schema).filter((t) => !!t && typeof t === 'object' && Symbol.for('drizzle:IsDrizzleTable') in t))
        expect(model).toMatch(new RegExp(`\\n  ${getTableConfig(table as PgTable).name} \\{`))
  })

  test('a new variable without a meaning stops `bun run docs`, naming it', () => {
    const schemas = {
      delivery: { entries: { ...DeliveryConfigSchema.entries, NEW_SETTING: { default: '1' } } },
      ecommerce: EcommerceConfigSchema,
    }
    expect(() => renderEnvironment(schemas)).toThrow(/no meaning for NEW_SETTING \(delivery\)/)
  })

  test('environment.md has a row for every variable of both config schemas, and no other file has one', () => {
    const environment = read('docs/environment.md')
    for (const schema of [DeliveryConfigSchema, EcommerceConfigSchema])
      for (const name of Object.keys(schema.entries)) expect(environment).toContain(`| \`${name}\` |`)
    for (const file of markdownFiles().filter((f) => f !== 'docs/environment.md'))
      expect(readMarkdown(file), `${file} repeats the environment table`).not.toMatch(
        /^\| `(STATUS_TICK_SECONDS|DELIVERY_API_KEYS|JWT_SECRET)`/m,
      )
  })
})

describe('Markdown files', () => {
  const files = markdownFiles()

  test('are found (README.md and docs/)', () => {
    expect(files).toContain('README.md')
    expect(files.filter((f) => f.startsWith('docs/')).length).toBeGreaterThanOrEqual(8)
  })

  test('link only inside the repository (no ../shared, no api-contract)', () => {
    for (const file of files) {
      const text = readMarkdown(file)
      expect(text.includes('../shared'), `${file} mentions ../shared`).toBe(false)
      expect(text.includes('api-contract'), `${file} mentions api-contract`).toBe(false)
    }
  })

  test('every relative link resolves: to a file of the repository, and its #anchor to a heading there', () => {
    const broken: string[] = []
    for (const file of files) {
      for (const [, target] of withoutCode(readMarkdown(file)).matchAll(/\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)) {
        if (/^(https?|mailto):/.test(target!)) continue
        const [path, anchor] = target!.split('#') as [string, string | undefined]
        const resolved = path ? join(dirname(join(ROOT, file)), decodeURIComponent(path)) : join(ROOT, file)
        if (!existsSync(resolved)) {
          broken.push(`${file} → ${target}: no such file`)
          continue
        }
        if (anchor === undefined) continue
        if (!resolved.endsWith('.md')) broken.push(`${file} → ${target}: an anchor into a file that is not Markdown`)
        else if (!anchors(readFileSync(resolved, 'utf8')).has(decodeURIComponent(anchor)))
          broken.push(`${file} → ${target}: no heading with that anchor in ${relative(ROOT, resolved)}`)
      }
    }
    expect(broken).toEqual([])
  })

  test('the link check finds a broken file and a broken anchor', () => {
    expect(anchors('# Two commands\n## The API in short\n## Lists\n## Lists\n### `GET /orders/{id}`')).toEqual(
      new Set(['two-commands', 'the-api-in-short', 'lists', 'lists-1', 'get-ordersid']),
    )
    expect(anchors('```sh\n# not a heading\n```\n')).toEqual(new Set())
  })

  test('no table is kept in two places: no table row appears in two files', () => {
    const seen = new Map<string, string>()
    const repeated: string[] = []
    for (const file of files)
      for (const row of new Set(withoutCode(readMarkdown(file)).match(/^\|.*\|[ \t]*$/gm) ?? [])) {
        if (/^\|[\s|:-]*$/.test(row) || row.length < 40) continue
        const first = seen.get(row)
        if (first && first !== file) repeated.push(`${file} repeats a row of ${first}: ${row.slice(0, 80)}`)
        else seen.set(row, file)
      }
    expect(repeated).toEqual([])
  })
})

describe('README.md', () => {
  const readme = read('README.md')

  test('stays short enough to read top to bottom: at most 250 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(250)
  })

  test('names the two commands, and the test command is bun test', () => {
    expect(readme).toContain('bun install && bun run dev')
    expect(readme).toContain('bun install && bun run test')
    expect(readme).toContain('bun test')
    expect((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.test).toStartWith('bun test')
  })

  test('its walkthrough is scripts/walkthrough.sh, block for block', () => {
    const script = read('scripts/walkthrough.sh')
    const blocks = [...script.matchAll(/^# >>> readme: (\S+)$/gm)].map((m) => m[1])
    expect(blocks.length).toBeGreaterThanOrEqual(5)
    expect(syncWalkthrough(readme, script)).toBe(readme)
    for (const name of blocks) expect(readme).toContain(`<!-- walkthrough: ${name} -->`)
  })

  test('a walkthrough region without its block, or a block without its region, stops `bun run docs`', () => {
    const script = '# >>> readme: one\necho one\n# <<< readme\n'
    expect(syncWalkthrough('<!-- walkthrough: one -->\nold\n<!-- /walkthrough -->\n', script)).toBe(
      '<!-- walkthrough: one -->\n```sh\necho one\n```\n<!-- /walkthrough -->\n',
    )
    expect(() => syncWalkthrough('<!-- walkthrough: two -->\n<!-- /walkthrough -->\n', script)).toThrow(/"two"/)
    expect(() => syncWalkthrough('no regions\n', script)).toThrow(/"one" has no region/)
  })
})
