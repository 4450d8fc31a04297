import Ajv2020 from 'ajv/dist/2020'
import type { HandlesRequests } from './http'

/**
 * Every answer a test receives, checked against the OpenAPI document of the app that gave it (its
 * own `GET /swagger/json`, fetched once per app): the status is documented for the operation, the
 * content type is one it lists, a JSON body is valid under its schema (Ajv, JSON Schema 2020-12,
 * formats checked), and the headers that carry meaning (`Location`, `Retry-After`, `Allow`,
 * `WWW-Authenticate`, `Idempotent-Replayed`, `ETag`) are declared where they are sent and sent where they
 * are required. A path with a method it does not have must answer the document's 405; an unknown
 * path its 404. `callApp` (http.ts) runs it on every answer, so every test checks what it sees.
 */

type Doc = { paths: Record<string, Record<string, any>>; components?: Record<string, Record<string, any>>; webhooks?: Record<string, any> }
type Answer = { status: number; headers: Headers; text: string }

/** Headers a client acts on: sent only where documented, and where documented as required, sent. */
const MEANINGFUL_HEADERS = ['location', 'retry-after', 'allow', 'www-authenticate', 'idempotent-replayed', 'etag']

const FORMATS: Record<string, (value: string) => boolean> = {
  uuid: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
  'date-time': (s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s) && !Number.isNaN(Date.parse(s)),
  email: (s) => /^[^\s@]+@[^\s@]+$/.test(s),
  uri: (s) => /^[a-z][a-z0-9+.-]*:/i.test(s) && URL.canParse(s),
  'uri-reference': (s) => !/\s/.test(s),
}

/** A JSON pointer into the document, as a URI fragment. */
const pointer = (...tokens: string[]) =>
  `#/${tokens.map((t) => encodeURIComponent(t.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')}`

const essence = (contentType: string | null) => (contentType ?? '').split(';')[0]!.trim().toLowerCase()
const isJson = (type: string) => type === 'application/json' || type.endsWith('+json')

export class ContractChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false, formats: FORMATS })
  private readonly templates: { path: string; pattern: RegExp; literal: number }[]

  constructor(private readonly doc: Doc) {
    this.ajv.addSchema(doc as object, 'doc')
    this.templates = Object.keys(doc.paths)
      .map((path) => ({
        path,
        pattern: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
        literal: path.split('/').filter((s) => s && !s.startsWith('{')).length,
      }))
      // the most literal template first: /swagger/json before /swagger/assets/{file}
      .sort((a, b) => b.literal - a.literal)
  }

  /** What is wrong with the body of an outgoing webhook event under the document's `webhooks` section. */
  checkWebhook(name: string, payload: string): string[] {
    const media = this.doc.webhooks?.[name]?.post?.requestBody?.content?.['application/json']
    if (!media?.schema) return [`the document has no webhook ${name}`]
    const ref = `doc${pointer('webhooks', name, 'post', 'requestBody', 'content', 'application/json', 'schema')}`
    const validate = this.ajv.getSchema(ref)!
    return validate(JSON.parse(payload)) ? [] : [`webhook ${name}: ${this.ajv.errorsText(validate.errors)}: ${payload.slice(0, 300)}`]
  }

  private resolve(object: any): any {
    let out = object
    for (let i = 0; out?.$ref && i < 5; i++) {
      const [, ...tokens] = String(out.$ref).split('/')
      out = tokens.reduce((node: any, t) => node?.[t.replaceAll('~1', '/').replaceAll('~0', '~')], this.doc)
    }
    return out
  }

  /** What is wrong with `answer` to `method path` under the document (empty when nothing). */
  check(method: string, url: string, answer: Answer): string[] {
    const pathname = new URL(url, 'http://localhost').pathname
    const normalized = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname
    const template = this.templates.find((t) => t.pattern.test(normalized))?.path
    const item = template ? this.doc.paths[template] : undefined
    let verb = method.toLowerCase()
    if (verb === 'head' && item && !item.head && item.get) verb = 'get'
    const where = `${method} ${pathname}${template && template !== normalized ? ` (${template})` : ''}`
    if (!item?.[verb]) {
      // No such operation: an unknown path answers 404, a known one with another method 405.
      const expected = item ? 'MethodNotAllowed' : 'NotFound'
      if (item && answer.status === 404) return []
      const response = this.doc.components?.responses?.[expected]
      if (!response) return [`${where}: the document has no components.responses.${expected}`]
      const wanted = item ? 405 : 404
      if (answer.status !== wanted)
        return [`${where}: answered ${answer.status} to an operation the document does not have (expected ${wanted})`]
      return this.checkResponse(where, response, ['components', 'responses', expected], answer, method)
    }
    const operation = item[verb]
    const status = String(answer.status)
    const key =
      status in (operation.responses ?? {}) ? status : `${status[0]}XX` in (operation.responses ?? {}) ? `${status[0]}XX` : 'default'
    const given = operation.responses?.[key]
    if (!given)
      return [
        `${where}: answered ${status}, which the document does not list for ${operation.operationId} (lists ${Object.keys(operation.responses ?? {}).join(', ')}): ${answer.text.slice(0, 300)}`,
      ]
    const location = given.$ref ? String(given.$ref).slice(2).split('/') : ['paths', template!, verb, 'responses', key]
    return this.checkResponse(where, this.resolve(given), location, answer, method)
  }

  private checkResponse(where: string, response: any, location: string[], answer: Answer, method: string): string[] {
    const violations: string[] = []
    const declared = new Map(
      Object.entries<any>(response.headers ?? {}).map(([name, header]) => [name.toLowerCase(), this.resolve(header)]),
    )
    for (const name of MEANINGFUL_HEADERS) {
      const value = answer.headers.get(name)
      const header = declared.get(name)
      if (value !== null && !header) violations.push(`${where} ${answer.status}: sends ${name}, which the document does not declare`)
      if (value === null && header?.required) violations.push(`${where} ${answer.status}: the document requires ${name}, which is not sent`)
      if (value !== null && header?.schema) {
        const schema = header.schema.type === 'integer' ? { ...header.schema, type: 'string', pattern: '^[0-9]+$' } : header.schema
        if (!this.ajv.validate(schema, value)) violations.push(`${where} ${answer.status}: ${name} "${value}": ${this.ajv.errorsText()}`)
      }
    }
    const content = response.content as Record<string, any> | undefined
    const type = essence(answer.headers.get('content-type'))
    const hasBody = answer.text.length > 0 && method !== 'HEAD'
    if (!content) {
      if (hasBody) violations.push(`${where} ${answer.status}: a body (${type}) where the document has none: ${answer.text.slice(0, 200)}`)
      return violations
    }
    if (!hasBody && method !== 'HEAD') {
      violations.push(`${where} ${answer.status}: no body; the document says ${Object.keys(content).join(' or ')}`)
      return violations
    }
    const media = Object.keys(content).find((t) => t.toLowerCase() === type)
    if (!media) {
      violations.push(`${where} ${answer.status}: content type ${type || '(none)'}; the document says ${Object.keys(content).join(' or ')}`)
      return violations
    }
    if (!isJson(type) || method === 'HEAD' || !content[media].schema) return violations
    let body: unknown
    try {
      body = JSON.parse(answer.text)
    } catch {
      return [...violations, `${where} ${answer.status}: the ${type} body is not JSON: ${answer.text.slice(0, 200)}`]
    }
    const ref = `doc${pointer(...location, 'content', media, 'schema')}`
    const validate = this.ajv.getSchema(ref)
    if (!validate) return [...violations, `${where}: no schema at ${ref}`]
    if (!validate(body))
      violations.push(
        `${where} ${answer.status}: the body breaks its schema (${ref.slice(4)}): ${this.ajv.errorsText(validate.errors, { separator: '; ' })}: ${answer.text.slice(0, 400)}`,
      )
    return violations
  }
}

const byApp = new WeakMap<object, Promise<ContractChecker | null>>()
const byText = new Map<string, ContractChecker>()

/** The checker of an app's own document: fetched once per app; null for an app that serves none (404). */
function contractOf(app: HandlesRequests): Promise<ContractChecker | null> {
  let checker = byApp.get(app)
  if (!checker) {
    checker = (async () => {
      const response = await app.handle(new Request('http://localhost/swagger/json'))
      if (response.status === 404) return null
      const text = await response.text()
      if (response.status !== 200) throw new Error(`GET /swagger/json answered ${response.status}: ${text.slice(0, 300)}`)
      let known = byText.get(text)
      if (!known) {
        known = new ContractChecker(JSON.parse(text))
        if (byText.size > 50) byText.clear()
        byText.set(text, known)
      }
      return known
    })()
    byApp.set(app, checker)
  }
  return checker
}

/** Throws when `answer` breaks the document of `app` (see ContractChecker). */
export async function assertDocumented(app: HandlesRequests, method: string, path: string, answer: Answer): Promise<void> {
  const checker = await contractOf(app)
  const violations = checker?.check(method, path, answer) ?? []
  if (violations.length) throw new Error(`The answer breaks the OpenAPI document:\n${violations.join('\n')}`)
}

/** Throws when `payload` breaks the schema of the webhook `name` in the document of `app` (the sender). */
export async function assertWebhookDocumented(app: HandlesRequests, name: string, payload: string): Promise<void> {
  const violations = (await contractOf(app))?.checkWebhook(name, payload) ?? [`${name}: the app serves no document`]
  if (violations.length) throw new Error(`The event breaks the OpenAPI document:\n${violations.join('\n')}`)
}
