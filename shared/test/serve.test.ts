import { afterAll, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import * as v from 'valibot'
import { httpBasics } from '../src/http/basics'
import { jsonBody } from '../src/http/body'
import { MAX_BODY_BYTES } from '../src/http/body-limit'
import { serveApp } from '../src/http/serve'
import { silentLogger } from '../src/log'
import { unauthorized } from '../src/problem'

const Text = v.object({ text: v.string() })
// `/secret` checks a bearer token in the transform stage, as both services' auth plugins do
const app = new Elysia()
  .use(httpBasics(silentLogger))
  .use(jsonBody())
  .post('/echo', ({ body }) => ({ length: body.text.length }), { body: Text })
  .post('/secret', ({ body }) => ({ length: body.text.length }), {
    body: Text,
    transform({ request }) {
      if (request.headers.get('authorization') !== 'Bearer right') throw unauthorized()
    },
  })
const server = serveApp(app, 0)
const url = `http://127.0.0.1:${server.port}/echo`
afterAll(() => server.stop(true))

function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  let offset = 0
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close()
      controller.enqueue(bytes.slice(offset, offset + 64 * 1024))
      offset += 64 * 1024
    },
  })
}

describe('the 1 MB body limit on a real server', () => {
  const big = JSON.stringify({ text: 'x'.repeat(MAX_BODY_BYTES + 100) })
  const small = JSON.stringify({ text: 'x'.repeat(200_000) })

  test('a declared body over 1 MB answers 413 problem+json', async () => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big })
    expect(res.status).toBe(413)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect((await res.json()).code).toBe('body-too-large')
  })

  test('a streamed (chunked) body over 1 MB answers 413 problem+json', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunked(big),
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })

  test('credentials come first: a body over 1 MB, declared or streamed, answers 401 without them and 413 with them', async () => {
    const secret = `http://127.0.0.1:${server.port}/secret`
    const statuses: Record<string, number> = {}
    for (const [label, body] of [
      ['declared', () => big],
      ['streamed', () => chunked(big)],
    ] as const)
      for (const authorization of [undefined, 'Bearer wrong', 'Bearer right']) {
        const headers: Record<string, string> = { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }
        const res = await fetch(secret, { method: 'POST', headers, body: body(), duplex: 'half' } as RequestInit)
        expect(res.headers.get('content-type')).toBe('application/problem+json')
        statuses[`${label} ${authorization ?? 'none'}`] = res.status
      }
    expect(statuses).toEqual({
      'declared none': 401,
      'declared Bearer wrong': 401,
      'declared Bearer right': 413,
      'streamed none': 401,
      'streamed Bearer wrong': 401,
      'streamed Bearer right': 413,
    })
  })

  test('bodies under the limit go through, streamed or not', async () => {
    for (const body of [small, chunked(small)]) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ length: 200_000 })
    }
  })
})

describe('headers over Bun’s limit: the bare 431 documented in docs/http.md', () => {
  /** The raw answer to a request whose head (request line, headers, line ends) is exactly `bytes` long. */
  async function headOf(bytes: number) {
    const start = 'GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Pad: '
    const head = `${start}${'a'.repeat(bytes - start.length - 4)}\r\n\r\n`
    expect(head.length).toBe(bytes)
    let answer = ''
    await new Promise<void>((resolve) => {
      void Bun.connect({
        hostname: '127.0.0.1',
        port: server.port!,
        socket: {
          open: (socket) => void socket.write(head),
          data(_, data) {
            answer += data.toString()
          },
          close: () => resolve(),
          error: () => resolve(),
        },
      })
    })
    return answer
  }

  test('a head of 16 384 bytes is served (problem+json here); one byte more gets the bare 431 and the connection closed', async () => {
    const served = await headOf(16_384)
    expect(served).toStartWith('HTTP/1.1 404')
    expect(served).toContain('application/problem+json')
    expect(await headOf(16_385)).toBe('HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n')
  })
})
