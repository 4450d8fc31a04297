import { createHarness } from './ecommerce/test/helpers'
const h = await createHarness()
const doc = (await h.request('GET', '/swagger/json')).body
for (const [p, item] of Object.entries<any>(doc.paths)) for (const [m, op] of Object.entries<any>(item)) {
  console.log(m.toUpperCase(), p, 'sec=', JSON.stringify(op.security), 'body=', op.requestBody ? Object.keys(op.requestBody.content) + ' ex=' + JSON.stringify(op.requestBody.content['application/json']?.example)?.slice(0, 60) : '-', 'resp=', Object.entries<any>(op.responses ?? {}).map(([s, r]) => s + ':' + r.description + ':' + Object.keys(r.content ?? {})).join(' | ').slice(0, 200))
}
console.log(doc.info.description)
for (const [m, p, b, ct] of [['PUT', '/orders'], ['DELETE', '/products'], ['GET', '/'], ['GET', '/swagger/'], ['POST', '/purchases', 'items=1', 'application/x-www-form-urlencoded'], ['POST', '/users', 'hello', 'text/plain'], ['POST', '/users', JSON.stringify('x'.repeat(5000)), 'application/json'], ['POST', '/users', '{"a":'.repeat(20000), 'application/json'], ['POST', '/purchases', '{"a":'.repeat(20000) + '1' + '}'.repeat(20000), 'application/json']] as any[]) {
  const t = performance.now()
  const r = await h.request(m, p, { rawBody: b, headers: ct ? { 'content-type': ct } : {} })
  console.log(m, p, r.status, Math.round(performance.now() - t) + 'ms', r.headers.get('allow'), r.headers.get('location'), r.headers.get('x-content-type-options'), r.headers.get('cache-control'), r.text.slice(0, 300))
}
await h.close()
