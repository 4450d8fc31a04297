import type { DeliveryStatus } from '@logistics/shared'

/** What the page shows of a parcel: its status and dated history (the public JSON, `PublicTracking`). */
export type TrackingFacts = { status: DeliveryStatus; tracking: { status: DeliveryStatus; date: string }[] }

type StepState = 'done' | 'current' | 'failed' | 'todo'

export type TrackingView = {
  /** The status in words, a sentence about it, and its symbol. */
  title: string
  detail: string
  mark: string
  /** Delivery attempts that failed so far (NOT_DELIVERED events). */
  failedAttempts: number
  /** DELIVERED: nothing changes any more (the page stops asking). */
  final: boolean
  /** The progress line: READY_FOR_PICK_UP → IN_ORIGIN → IN_ROUTE_OF_DELIVERY → DELIVERED. */
  steps: { label: string; state: StepState; stateText: string; mark: string; current: boolean }[]
  /** The history, newest first. */
  history: { label: string; mark: string; date: string }[]
}

/**
 * The words, symbols and progress of a parcel, computed once for both renderers: the server's HTML
 * (page.ts) and the browser's live update (browser.ts), which receives this very function as source
 * text (`trackingView.toString()`). So it must stay self-contained: no imports, no outside names,
 * plain JavaScript once its types are stripped. Colour is never the only signal: every state has a
 * symbol and a word.
 */
export function trackingView(facts: TrackingFacts): TrackingView {
  const words: Record<string, { title: string; detail: string; mark: string }> = {
    READY_FOR_PICK_UP: {
      title: 'Ready for pick-up',
      detail: 'The sender has prepared your parcel; the carrier picks it up soon.',
      mark: '□',
    },
    IN_ORIGIN: { title: 'At the depot', detail: 'The carrier has your parcel at its depot and sorts it for delivery.', mark: '▣' },
    IN_ROUTE_OF_DELIVERY: { title: 'Out for delivery', detail: 'Your parcel is on its way to you.', mark: '➜' },
    NOT_DELIVERED: {
      title: 'Delivery attempt failed',
      detail: 'The carrier could not deliver your parcel this time; it goes out for delivery again.',
      mark: '✕',
    },
    DELIVERED: { title: 'Delivered', detail: 'Your parcel has been delivered.', mark: '✓' },
  }
  const stepStatuses = ['READY_FOR_PICK_UP', 'IN_ORIGIN', 'IN_ROUTE_OF_DELIVERY', 'DELIVERED']
  const stateWords: Record<StepState, { text: string; mark: string }> = {
    done: { text: 'done', mark: '✓' },
    current: { text: 'now', mark: '●' },
    failed: { text: 'attempt failed, going out again', mark: '✕' },
    todo: { text: 'to come', mark: '○' },
  }
  const status = facts.status
  const reached = status === 'NOT_DELIVERED' ? 2 : stepStatuses.indexOf(status)
  const steps = stepStatuses.map((s, i) => {
    let state: StepState = i < reached ? 'done' : i > reached ? 'todo' : 'current'
    if (i === reached && status === 'NOT_DELIVERED') state = 'failed'
    if (i === reached && status === 'DELIVERED') state = 'done'
    return { label: words[s]!.title, state, stateText: stateWords[state].text, mark: stateWords[state].mark, current: i === reached }
  })
  const word = words[status] ?? { title: status, detail: '', mark: '•' }
  return {
    title: word.title,
    detail: word.detail,
    mark: word.mark,
    failedAttempts: facts.tracking.filter((e) => e.status === 'NOT_DELIVERED').length,
    final: status === 'DELIVERED',
    steps,
    history: facts.tracking
      .slice()
      .reverse()
      .map((e) => ({ label: (words[e.status] ?? { title: e.status }).title, mark: (words[e.status] ?? { mark: '•' }).mark, date: e.date })),
  }
}
