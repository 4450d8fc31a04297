/**
 * The runtime workspaces hold only what the services run: no file under `shared/src`,
 * `delivery/src` or `ecommerce/src` imports the test-only workspace `@logistics/testkit`, `bun:test`
 * or a test-only package (the images copy those folders and nothing of testkit).
 */
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '..')
const transpiler = new Bun.Transpiler({ loader: 'ts' })
const TEST_ONLY = [/^@logistics\/testkit(\/|$)/, /(^|\/)testkit(\/|$)/, /^bun:test$/, /^fast-check$/, /^ajv(\/|$)/]

describe('runtime code imports nothing test-only', () => {
  for (const workspace of ['shared', 'delivery', 'ecommerce']) {
    test(`${workspace}/src`, () => {
      const files = [...new Bun.Glob('**/*.ts').scanSync(join(ROOT, workspace, 'src'))]
      expect(files.length).toBeGreaterThan(3)
      const offending = files.flatMap((file) => {
        const text = readFileSync(join(ROOT, workspace, 'src', file), 'utf8')
        // scanImports keeps type-only imports out; a test-only type import is still one too many.
        const specs = [...transpiler.scanImports(text).map((i) => i.path), ...[...text.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]!)]
        return specs
          .filter((spec) => TEST_ONLY.some((pattern) => pattern.test(spec)))
          .map((spec) => `${workspace}/src/${file} imports ${spec}`)
      })
      expect([...new Set(offending)]).toEqual([])
    })
  }

  test('the check has teeth', () => {
    const specs = transpiler
      .scanImports("import { callApp } from '@logistics/testkit/http'\nimport { test } from 'bun:test'")
      .map((i) => i.path)
    expect(specs.filter((spec) => TEST_ONLY.some((pattern) => pattern.test(spec)))).toEqual(['@logistics/testkit/http', 'bun:test'])
  })
})
