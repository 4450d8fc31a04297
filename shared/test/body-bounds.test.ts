/**
 * What request bodies may cost a process, on a real server in a child process (its RSS measured
 * from /proc): bodies are read only once the route's credentials are checked, so unauthenticated
 * uploads that never finish hold nothing; and at most `bytesInFlight` bytes of bodies are read at
 * once, so authenticated ones past it are answered 503 with Retry-After, unread.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const BOUND = 2 * 1024 * 1024

/** A server like both services' (httpBasics, jsonBody with a credentials check, serveApp) with one secured route. */
const SERVER = `
import { Elysia } from 'elysia'
import * as v from 'valibot'
import { httpBasics } from './src/http/basics'
import { jsonBody } from './src/http/body'
import { serveApp } from './src/http/serve'
import { silentLogger } from './src/log'
import { unauthorized } from './src/problem'
const check = async (request) => { if (request.headers.get('authorization') !== 'Bearer right') throw unauthorized() }
const app = new Elysia()
  .use(httpBasics(silentLogger))
  .use(jsonBody({ authenticate: check, bytesInFlight: ${BOUND} }))
  .post('/secret', ({ body }) => ({ length: body.text.length }), {
    body: v.object({ text: v.string() }),
    detail: { security: [{ bearer: [] }] },
    transform: ({ request }) => check(request),
  })
const server = serveApp(app, 0)
console.log(server.port)
`

let child: ReturnType<typeof Bun.spawn>
let port: number
beforeAll(async () => {
  child = Bun.spawn([process.execPath, '-e', SERVER], { cwd: join(import.meta.dir, '..'), stdout: 'pipe', stderr: 'inherit' })
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader()
  port = Number(new TextDecoder().decode((await reader.read()).value).trim())
  reader.releaseLock()
}, 30_000)
afterAll(() => child?.kill())

const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024

/** A chunked upload that sends `bytes` of its body and never the end; `answer()` is what came back so far. */
async function stalledUpload(bytes: number, authorization?: string) {
  let answer = ''
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      data(_s, data) {
        answer += data.toString()
      },
      error() {},
    },
  })
  socket.write(
    `POST /secret HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${authorization ? `Authorization: ${authorization}\r\n` : ''}` +
      `Transfer-Encoding: chunked\r\n\r\n${bytes.toString(16)}\r\n`,
  )
  socket.write(Buffer.alloc(bytes, 'x'))
  return { socket, answer: () => answer }
}

const statusOf = (answer: string) => /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 'none'

async function until(probe: () => boolean, ms = 10_000) {
  const deadline = Date.now() + ms
  while (!probe() && Date.now() < deadline) await Bun.sleep(50)
}

describe('request bodies on a real server', () => {
  test('400 unauthenticated chunked uploads of 512 KB that never finish: each answered 401 at once, unread; RSS grows by a few MB', async () => {
    const before = rssMb()
    const uploads = await Promise.all(Array.from({ length: 400 }, () => stalledUpload(512 * 1024)))
    await until(() => uploads.every((u) => u.answer() !== ''))
    const grown = rssMb() - before
    const statuses = uploads.map((u) => statusOf(u.answer()))
    for (const u of uploads) u.socket.end()
    expect(new Set(statuses)).toEqual(new Set(['401']))
    expect(uploads[0]!.answer()).toContain('application/problem+json')
    // Reading them (the old pre-read) held ~200 MB here.
    expect(grown).toBeLessThan(40)
  }, 60_000)

  test('authenticated uploads past the bound on bodies in flight: 503 problem+json with Retry-After, unread; a finished one frees its share', async () => {
    // Each streamed body may reach 1 MB: two fill the 2 MB bound.
    const first = await stalledUpload(100 * 1024, 'Bearer right')
    const second = await stalledUpload(100 * 1024, 'Bearer right')
    await Bun.sleep(300)
    const third = await stalledUpload(100 * 1024, 'Bearer right')
    await until(() => third.answer().includes('}'))
    expect(statusOf(third.answer())).toBe('503')
    expect(third.answer()).toMatch(/retry-after: 1\r\n/i)
    expect(third.answer()).toContain('"code":"request-bodies-busy"')
    expect([statusOf(first.answer()), statusOf(second.answer())]).toEqual(['none', 'none']) // still being received
    // The first one ends its body: it is answered, and its share is free again.
    first.socket.write('\r\n0\r\n\r\n')
    await until(() => first.answer() !== '')
    expect(statusOf(first.answer())).toBe('400') // 100 KB of x is not JSON: read, then refused
    const fourth = await stalledUpload(100 * 1024, 'Bearer right')
    await Bun.sleep(300)
    expect(statusOf(fourth.answer())).toBe('none')
    // A client that goes away frees its share too.
    second.socket.end()
    await Bun.sleep(300)
    const fifth = await stalledUpload(100 * 1024, 'Bearer right')
    await Bun.sleep(300)
    expect(statusOf(fifth.answer())).toBe('none')
    for (const u of [first, third, fourth, fifth]) u.socket.end()
  }, 30_000)
})
