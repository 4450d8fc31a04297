import * as v from 'valibot'

export const HealthSchema = v.object({ status: v.literal('ok') })
export const LiveSchema = v.object({ status: v.literal('ok') })
