/**
 * Server-rendered HTML without a template engine: `html` is a tagged template whose every
 * interpolated value is escaped (`escapeHtml`) unless it is itself `Html` (another `html` template
 * or an array of them). Text and attribute values are safe in double-quoted attributes and in
 * element content; nothing here is meant for `<script>` or `<style>` content or for URLs.
 */
export class Html {
  constructor(readonly value: string) {}
  toString() {
    return this.value
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** `text` with the five characters that mean something in HTML replaced by their entities. */
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ENTITIES[c]!)

type Value = Html | string | number | boolean | null | undefined | readonly Value[]

function render(value: Value): string {
  if (value instanceof Html) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  if (value === null || value === undefined || value === false) return ''
  return escapeHtml(String(value))
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!
  return new Html(out)
}

/** Text trusted as HTML as it is: only for markup the code itself wrote (never for data). */
export const trusted = (markup: string) => new Html(markup)
