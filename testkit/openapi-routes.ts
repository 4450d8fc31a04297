import type { HandlesRequests } from './http'

/**
 * The route list of a service's own OpenAPI document, so a fuzz run, an authorization matrix or a
 * surface test covers every route, including ones added later.
 */

export type OpenApiParameter = { name: string; in: 'path' | 'query' | 'header' | 'cookie'; required?: boolean; schema?: any }

export type OpenApiRoute = {
  /** `GET`, `POST`, … */
  method: string
  /** The OpenAPI path, e.g. `/orders/{id}/confirm`. */
  path: string
  /** `METHOD path`: the key of policy tables. */
  key: string
  parameters: OpenApiParameter[]
  pathParams: string[]
  queryParams: OpenApiParameter[]
  hasBody: boolean
  operation: any
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

/** `schema` with its `$ref`s to the document's components replaced by what they point at. */
export function dereference(doc: any, schema: any, depth = 0): any {
  if (Array.isArray(schema)) return schema.map((s) => dereference(doc, s, depth))
  if (!schema || typeof schema !== 'object' || depth > 20) return schema
  if (typeof schema.$ref === 'string' && schema.$ref.startsWith('#/')) {
    const { $ref, ...siblings } = schema
    const target = $ref
      .slice(2)
      .split('/')
      .reduce((node: any, token: string) => node?.[token.replaceAll('~1', '/').replaceAll('~0', '~')], doc)
    return { ...dereference(doc, target, depth + 1), ...siblings }
  }
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, dereference(doc, value, depth + 1)]))
}

/**
 * Every operation the app's `GET /swagger/json` lists, except the docs' own (Swagger UI, the
 * document, the problem pages: tag `docs`); parameter schemas come dereferenced.
 */
export async function openApiRoutes(app: HandlesRequests): Promise<{ doc: any; routes: OpenApiRoute[] }> {
  const response = await app.handle(new Request('http://localhost/swagger/json'))
  if (response.status !== 200) throw new Error(`GET /swagger/json answered ${response.status}`)
  const doc: any = await response.json()
  const routes: OpenApiRoute[] = []
  for (const [path, item] of Object.entries<any>(doc.paths ?? {})) {
    if (path.startsWith('/swagger')) continue
    for (const m of METHODS) {
      const operation = item[m]
      if (!operation || operation.tags?.includes('docs')) continue
      const parameters: OpenApiParameter[] = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map((p) => ({
        ...p,
        schema: dereference(doc, p.schema),
      }))
      const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((x) => x[1]!)
      routes.push({
        method: m.toUpperCase(),
        path,
        key: `${m.toUpperCase()} ${path}`,
        parameters,
        pathParams,
        queryParams: parameters.filter((p) => p.in === 'query'),
        hasBody: operation.requestBody !== undefined,
        operation,
      })
    }
  }
  return { doc, routes }
}

/** The media types the document gives for a route's answer of `status` (empty when that status is not documented). */
export function documentedTypes(route: OpenApiRoute, status: number): string[] {
  return Object.keys(route.operation.responses?.[String(status)]?.content ?? {})
}

/**
 * Whether the route serves an HTML page to a person (its 200 is `text/html`, like the delivery
 * service's public tracking page): its documented errors are HTML pages too, not problem+json.
 */
export const servesHtml = (route: OpenApiRoute) => documentedTypes(route, 200).includes('text/html')

/** `path` with its `{name}` parameters replaced by `values` (inserted as given: encode them yourself). */
export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = values[name]
    if (value === undefined) throw new Error(`no value for path parameter ${name} of ${path}`)
    return value
  })
}

/** Route-set differences between a policy table and the document: both lists empty when they match. */
export function policyCoverage(routes: OpenApiRoute[], policyKeys: string[]) {
  const documented = new Set(routes.map((r) => r.key))
  const listed = new Set(policyKeys)
  return {
    missingFromPolicy: [...documented].filter((k) => !listed.has(k)).sort(),
    notInDocument: [...listed].filter((k) => !documented.has(k)).sort(),
  }
}
