import { createHash, randomBytes } from 'node:crypto'
import { liveTracking } from './browser'
import { html, trusted } from './html'
import { type TrackingFacts, trackingView } from './view'

/**
 * The HTML of the public tracking page and its two refusals (404, 429), and the headers they are
 * served with. Mobile first (one column up to 40rem, the progress line across above it), semantic
 * (banner, main, contentinfo landmarks; h1, h2; ordered lists; an `aria-live` status), no colour
 * without a symbol and a word beside it.
 */

const STYLE = `:root{color-scheme:light;--ink:#1b1b1f;--muted:#4a4d55;--line:#d4d7de;--bg:#f6f7f9;--card:#fff;--accent:#0b57d0;--ok:#146c2e;--bad:#b3261e}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
.top{background:var(--accent);color:#fff;padding:.75rem 1rem}
.brand{margin:0 auto;max-width:38rem;font-weight:600}
main,footer{max-width:40rem;margin:0 auto;padding:1rem}
footer{padding-top:0;padding-bottom:2rem}
h1{font-size:1.375rem;line-height:1.3;margin:.25rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.0625rem;margin:0 0 .75rem}
.tn{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:nowrap}
.card{background:var(--card);border:1px solid var(--line);border-radius:.75rem;padding:1rem;margin:0 0 1rem}
.status p{margin:0}
.status-title{font-size:1.25rem;font-weight:700}
.status .status-detail{margin-top:.25rem;color:var(--muted)}
.status .attempts{margin-top:.5rem;font-weight:600;color:var(--bad)}
.mark{display:inline-block;min-width:1.5em;text-align:center;font-weight:700}
.is-delivered .mark,.is-done .mark{color:var(--ok)}
.is-not-delivered .mark,.is-failed .mark{color:var(--bad)}
.is-current .mark{color:var(--accent)}
.progress,.history{list-style:none;margin:0;padding:0}
.progress{margin-top:1rem;border-top:1px solid var(--line);padding-top:.5rem}
.step,.event{display:grid;grid-template-columns:1.5em 1fr;column-gap:.5rem;padding:.375rem 0}
.step-label{font-weight:600}
.step-state,.event time{grid-column:2;font-size:.875rem;color:var(--muted)}
.is-todo .step-label{font-weight:400}
.step[aria-current] .step-label{text-decoration:underline;text-underline-offset:.2em}
.event{border-top:1px solid var(--line);padding:.5rem 0}
.event:first-child{border-top:0}
.freshness,.note{font-size:.875rem;color:var(--muted);margin:0 0 .5rem}
@media (min-width:40rem){.progress{display:grid;grid-template-columns:repeat(4,1fr);gap:.5rem}.step{display:block;text-align:center;border-top:.25rem solid var(--line);padding-top:.5rem}.step.is-done{border-top-color:var(--ok)}.step.is-current{border-top-color:var(--accent)}.step.is-failed{border-top-color:var(--bad)}.step .mark,.step-label,.step-state{display:block}}`

const STYLE_SOURCE = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`

/** The page's script: the view function both renderers share, then the live updater (see browser.ts). */
const SCRIPT = `${trackingView.toString()}\n;(${liveTracking.toString()})()`
// Inside <script>, these would end the element or change how it is parsed.
if (/<\/script|<!--/i.test(SCRIPT)) throw new Error('the tracking page script contains </script or <!--')

const ICON = `data:image/svg+xml,${encodeURIComponent("<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'><rect width='16' height='16' rx='3' fill='#0b57d0'/><path d='M4 6l4-2 4 2v5l-4 2-4-2z' fill='#fff'/></svg>")}`

/** A fresh CSP nonce for one answer (128 random bits). */
export const newNonce = () => randomBytes(16).toString('base64')

const COMMON_CSP = `default-src 'none'; style-src ${STYLE_SOURCE}; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`

/**
 * The headers of every answer of the page's routes (the HTML pages; the JSON too, without CSP
 * script rules): a strict Content-Security-Policy (the style by its hash, the one script by a
 * nonce of this answer, fetches to this origin only, Trusted Types required so no HTML sink can be
 * used), no referrer (the tracking number in the URL goes nowhere), not indexed, not framed.
 * `Cache-Control: no-store` and nosniff come from the service's defaults.
 */
export function pageHeaders(nonce?: string): Record<string, string> {
  const csp = nonce
    ? `${COMMON_CSP}; script-src 'nonce-${nonce}'; connect-src 'self'; require-trusted-types-for 'script'; trusted-types 'none'`
    : COMMON_CSP
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': csp,
    'referrer-policy': 'no-referrer',
    'x-robots-tag': 'noindex, nofollow',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  }
}

/** `2024-05-01 10:00 UTC`: what a `<time>` shows before (or without) the script. */
const utcText = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`

const time = (iso: string) => html`<time datetime="${iso}">${utcText(iso)}</time>`

const mark = (symbol: string) => html`<span class="mark" aria-hidden="true">${symbol}</span>`

function layout(options: { title: string; nonce?: string; body: ReturnType<typeof html> }) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${options.title}</title>
<link rel="icon" href="${ICON}">
<style>${trusted(STYLE)}</style>
</head>
<body>
<header class="top"><p class="brand">Parcel tracking</p></header>
${options.body}
<footer><p class="note">This page shows the status and dates of a parcel only: no names, addresses or contents.</p></footer>
${options.nonce ? html`<script nonce="${options.nonce}">${trusted(SCRIPT)}</script>` : ''}
</body>
</html>
`.value
}

export type TrackingPageInput = {
  trackingNumber: string
  facts: TrackingFacts
  /** The ETag of the status JSON now: the page's first poll answers 304 unless something changed. */
  etag: string
  pollSeconds: number
  nonce: string
  now: Date
}

/** The tracking page of a parcel: status, progress line, history (newest first); live with the script. */
export function trackingPage(input: TrackingPageInput): string {
  const view = trackingView(input.facts)
  const { trackingNumber } = input
  const statusClass = `status is-${input.facts.status.toLowerCase().replace(/_/g, '-')}`
  return layout({
    title: `${view.title} · Parcel ${trackingNumber}`,
    nonce: input.nonce,
    body: html`<main id="main" data-tracking-number="${trackingNumber}" data-status-url="${encodeURIComponent(trackingNumber)}/status" data-poll-seconds="${input.pollSeconds}" data-etag="${input.etag}" data-final="${String(view.final)}">
<h1>Parcel <span class="tn">${trackingNumber}</span></h1>
<section class="card" aria-labelledby="status-heading">
<h2 id="status-heading">Status</h2>
<div id="status" class="${statusClass}" aria-live="polite" aria-atomic="true">
<p class="status-title">${mark(view.mark)} <span>${view.title}</span></p>
<p class="status-detail">${view.detail}</p>
${view.failedAttempts > 0 ? html`<p class="attempts">Failed delivery attempts: ${view.failedAttempts}</p>` : ''}
</div>
<ol id="steps" class="progress" aria-label="Progress">
${view.steps.map(
  (step) =>
    html`<li class="step is-${step.state}"${step.current ? trusted(' aria-current="step"') : ''}>${mark(step.mark)}<span class="step-label">${step.label}</span><span class="step-state">${step.stateText}</span></li>\n`,
)}</ol>
</section>
<section class="card" aria-labelledby="history-heading">
<h2 id="history-heading">History</h2>
<ol id="history" class="history" reversed>
${view.history.map(
  (entry) => html`<li class="event">${mark(entry.mark)}<span class="event-label">${entry.label}</span>${time(entry.date)}</li>\n`,
)}</ol>
</section>
<p id="freshness" class="freshness">Status as of ${time(input.now.toISOString())}. Reload the page for news.</p>
</main>`,
  })
}

/**
 * The answer to a number that shows no parcel: unknown, malformed or withdrawn alike, byte for
 * byte (it never repeats the number, and says nothing about whether one exists).
 */
export const NOT_FOUND_PAGE = layout({
  title: 'No parcel to show',
  body: html`<main id="main">
<h1>No parcel to show</h1>
<section class="card" aria-labelledby="help-heading">
<h2 id="help-heading">What you can do</h2>
<p>We cannot show a parcel for this link. Check that the tracking number is complete: it looks like <span class="tn">TRK-7KQ2-M9XD-4HPA</span>.</p>
<p>A parcel that was just sent may take a moment to appear; one that was withdrawn by the sender is no longer shown.</p>
</section>
</main>`,
})

/** The answer when this address asked too often: when to try again (also in `Retry-After`). */
export function tooManyRequestsPage(retryAfterSeconds: number): string {
  return layout({
    title: 'Too many requests',
    body: html`<main id="main">
<h1>Too many requests</h1>
<section class="card" aria-labelledby="wait-heading">
<h2 id="wait-heading">Please wait a moment</h2>
<p>This address has looked up parcels very often. Try again in ${retryAfterSeconds} ${retryAfterSeconds === 1 ? 'second' : 'seconds'}.</p>
</section>
</main>`,
  })
}
