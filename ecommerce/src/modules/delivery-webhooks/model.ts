export { WebhookEventSchema, type WebhookEvent } from '@logistics/shared'
