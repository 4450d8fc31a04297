import { Elysia } from 'elysia'
import { HttpProblem } from '../problem'

/** Dotted paths of the strings (keys or values) in `value` that contain U+0000. */
export function nulPaths(value: unknown, path = '', depth = 0): string[] {
  if (typeof value === 'string') return value.includes('\u0000') ? [path] : []
  if (value === null || typeof value !== 'object' || depth > 64) return []
  const found: string[] = []
  for (const [key, item] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key
    if (key.includes('\u0000')) found.push(at)
    found.push(...nulPaths(item, at, depth + 1))
  }
  return found
}

/**
 * Postgres text and jsonb cannot hold U+0000: a NUL reaching a query fails it (a 500). Refuses it
 * up front, in any path parameter (404, like other bad ids), query value or JSON body field (422).
 */
export function nulRefusal() {
  return new Elysia({ name: 'nul-refusal' }).onTransform({ as: 'global' }, ({ params, query, body }) => {
    if (nulPaths(params).length > 0) throw new HttpProblem(404, 'not-found', 'No such resource')
    const errors = [...nulPaths(query, 'query'), ...(typeof body === 'object' ? nulPaths(body) : [])].map((path) => ({
      path: path || '(root)',
      message: 'must not contain the character U+0000',
    }))
    if (errors.length > 0) throw new HttpProblem(422, 'validation-failed', 'The request has invalid fields', { errors })
  })
}
