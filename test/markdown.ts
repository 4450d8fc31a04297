/**
 * The repository's Markdown files, read for the documentation tests (test/docs.test.ts,
 * test/diagrams.test.ts): every `*.md` outside node_modules, .git, .data and test-results.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

export const ROOT = join(import.meta.dir, '..')
const SKIP = new Set(['node_modules', '.git', '.data', 'test-results'])

/** Every Markdown file of the repository, as paths relative to its root, sorted. */
export function markdownFiles(dir = ROOT): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...markdownFiles(path))
    else if (entry.name.endsWith('.md')) found.push(relative(ROOT, path))
  }
  return found.sort()
}

export const readMarkdown = (file: string) => readFileSync(join(ROOT, file), 'utf8')

/** The fenced code blocks of a Markdown text, with their language and the line their fence opens on (1-based). */
export function codeBlocks(text: string): { lang: string; code: string; line: number }[] {
  const blocks: { lang: string; code: string; line: number }[] = []
  for (const m of text.matchAll(/^(`{3,}|~{3,})([^\n`]*)\n([\s\S]*?)^\1[ \t]*$/gm))
    blocks.push({ lang: m[2]!.trim().split(/\s+/)[0] ?? '', code: m[3]!, line: text.slice(0, m.index).split('\n').length })
  return blocks
}

const withoutFences = (text: string) => text.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '')

/** The text without its fenced code blocks and inline code spans (links in code are not links). */
export const withoutCode = (text: string) => withoutFences(text).replace(/(`+)[\s\S]*?\1/g, '')

/**
 * The anchors GitHub gives a file's headings (github-slugger: lower case, punctuation dropped, spaces to
 * hyphens, a repeated slug numbered -1, -2, …), plus explicit `<a id="…">` / `<a name="…">` anchors.
 */
export function anchors(text: string): Set<string> {
  const found = new Set<string>()
  const seen = new Map<string, number>()
  for (const [, heading] of withoutFences(text).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = heading!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    found.add(n === 0 ? base : `${base}-${n}`)
  }
  for (const [, id] of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(id!)
  return found
}
