/**
 * The documentation in docs/ is generated from the code (scripts/docs.ts): it must match what the code
 * generates now, and the repository's docs must not point outside the repository.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core'
import { schema as deliverySchema } from '../delivery/src/db'
import * as ecommerceSchema from '../ecommerce/src/db/schema'
import { openApiDocuments, renderDocs } from '../scripts/docs'

const ROOT = join(import.meta.dir, '..')
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

  test('README and docs link only inside the repository (no ../shared, no api-contract)', () => {
    const files = ['README.md', ...readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' }).map((f) => `docs/${f}`)].filter(
      (f) => f.endsWith('.md'),
    )
    for (const file of files) {
      const text = read(file)
      expect(text.includes('../shared'), `${file} mentions ../shared`).toBe(false)
      expect(text.includes('api-contract'), `${file} mentions api-contract`).toBe(false)
      // Relative links resolve to files of the repository.
      for (const [, target] of text.matchAll(/\]\((?!https?:|#|mailto:)([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const base = file.includes('/') ? join(ROOT, file, '..') : ROOT
        expect(existsSync(join(base, target!)), `${file} links to ${target}`).toBe(true)
      }
    }
  })
})
