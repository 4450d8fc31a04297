import type { TrackingFacts, TrackingView } from './view'

declare function trackingView(facts: TrackingFacts): TrackingView

/**
 * The tracking page's script, run in the reader's browser (page.ts ships `liveTracking.toString()`
 * after `trackingView`'s source, under a nonce): so, like `trackingView`, self-contained plain
 * JavaScript once its types are stripped, with DOM calls only (no innerHTML: the page's CSP
 * requires Trusted Types for any HTML sink).
 *
 * - Dates: every `<time datetime>` is shown in the reader's locale and time zone (the server wrote
 *   them in UTC, which stays readable without JavaScript).
 * - Live: it asks `data-status-url` every `data-poll-seconds` with the last ETag in If-None-Match
 *   (a 304 costs a few bytes), redraws the status, the progress line and the history when they
 *   changed, and stops once the parcel is delivered. It waits while the tab is hidden, honours a
 *   429's Retry-After, backs off after a network error, and stops on a 404 (a withdrawn parcel).
 */
export function liveTracking() {
  const main = document.getElementById('main')
  if (!main) return
  const statusUrl = main.dataset.statusUrl ?? ''
  const pollMs = Math.max(1, Number(main.dataset.pollSeconds) || 10) * 1000
  let etag = main.dataset.etag ?? ''
  let final = main.dataset.final === 'true'
  let timer: ReturnType<typeof setTimeout> | undefined
  let failures = 0
  let stopped = false

  const dateFormat = new Intl.DateTimeFormat(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  })
  const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })

  function localTimes(root: ParentNode) {
    for (const time of Array.from(root.querySelectorAll('time[datetime]'))) {
      const date = new Date(time.getAttribute('datetime') ?? '')
      if (!Number.isNaN(date.getTime())) time.textContent = dateFormat.format(date)
    }
  }

  function el(tag: string, className?: string, text?: string) {
    const node = document.createElement(tag)
    if (className) node.className = className
    if (text !== undefined) node.textContent = text
    return node
  }

  function mark(symbol: string) {
    const node = el('span', 'mark', symbol)
    node.setAttribute('aria-hidden', 'true')
    return node
  }

  function timeOf(iso: string) {
    const time = el('time')
    time.setAttribute('datetime', iso)
    time.textContent = iso
    return time
  }

  function freshness(text: string, at?: Date) {
    const line = document.getElementById('freshness')
    if (!line) return
    line.replaceChildren(text)
    if (at) line.append(' ', el('span', undefined, `Last checked ${clockFormat.format(at)}.`))
  }

  function draw(facts: TrackingFacts) {
    const view = trackingView(facts)
    const status = document.getElementById('status')
    if (status) {
      const title = el('p', 'status-title')
      title.append(mark(view.mark), ' ', el('span', undefined, view.title))
      const children: Node[] = [title, el('p', 'status-detail', view.detail)]
      if (view.failedAttempts > 0) children.push(el('p', 'attempts', `Failed delivery attempts: ${view.failedAttempts}`))
      status.className = `status is-${facts.status.toLowerCase().replace(/_/g, '-')}`
      status.replaceChildren(...children)
    }
    const steps = document.getElementById('steps')
    if (steps)
      steps.replaceChildren(
        ...view.steps.map((step) => {
          const item = el('li', `step is-${step.state}`)
          if (step.current) item.setAttribute('aria-current', 'step')
          item.append(mark(step.mark), el('span', 'step-label', step.label), el('span', 'step-state', step.stateText))
          return item
        }),
      )
    const history = document.getElementById('history')
    if (history) {
      history.replaceChildren(
        ...view.history.map((entry) => {
          const item = el('li', 'event')
          item.append(mark(entry.mark), el('span', 'event-label', entry.label), timeOf(entry.date))
          return item
        }),
      )
      localTimes(history)
    }
    document.title = `${view.title} · Parcel ${main?.dataset.trackingNumber ?? ''}`
    final = view.final
  }

  function schedule(ms: number) {
    if (stopped) return
    clearTimeout(timer)
    timer = setTimeout(poll, ms)
  }

  function stop(text: string) {
    stopped = true
    clearTimeout(timer)
    freshness(text)
  }

  async function poll() {
    if (stopped) return
    if (document.hidden) return // visibilitychange polls again when the tab is shown
    let wait = pollMs
    try {
      const headers: Record<string, string> = etag ? { 'if-none-match': etag } : {}
      const response = await fetch(statusUrl, { headers, cache: 'no-store', credentials: 'omit' })
      if (response.status === 200) {
        etag = response.headers.get('etag') ?? ''
        draw((await response.json()) as TrackingFacts)
      } else if (response.status === 404) {
        return stop('This parcel can no longer be shown.')
      } else if (response.status === 429) {
        wait = Math.max(pollMs, (Number(response.headers.get('retry-after')) || 30) * 1000)
      } else if (response.status !== 304) {
        throw new Error(`status ${response.status}`)
      }
      failures = 0
      if (final) return stop('Your parcel has arrived: this page no longer updates.')
      freshness('This page updates by itself.', new Date())
    } catch {
      failures++
      wait = Math.min(pollMs * 2 ** failures, 5 * 60_000)
      freshness('Could not check for news; trying again shortly.')
    }
    schedule(wait)
  }

  localTimes(document)
  if (final) return stop('Your parcel has arrived: this page no longer updates.')
  freshness('This page updates by itself.')
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !stopped) schedule(0)
  })
  schedule(pollMs)
}
