/**
 * The demo data of a development setup: what `bun run seed` (scripts/seed.ts, run by `bun run dev`)
 * loads through the public API, and what the Swagger page of a development server offers to log in
 * with. Never used in production (see openapi-examples.ts).
 */

export const DEMO_PASSWORD = 'demo-password-123'

export const DEMO_SELLERS = [
  {
    name: 'Nordic Kitchen Co.',
    description: 'Kettles, pans and everything for a Scandinavian kitchen.',
    warehouse_address: 'Havnegade 12, 1058 Copenhagen, Denmark',
    admin: { email: 'anna@nordic-kitchen.example', name: 'Anna Berg' },
    staff: { email: 'lars@nordic-kitchen.example', name: 'Lars Holm' },
    products: [
      ['NK-KETTLE', 'Stovetop kettle', 'Enamelled steel kettle, 1.5 l'],
      ['NK-PAN-28', 'Cast iron pan 28 cm', 'Pre-seasoned, oven safe'],
      ['NK-KNIFE', "Chef's knife", '20 cm, carbon steel'],
      ['NK-BOARD', 'Oak cutting board', 'End grain, 40 × 30 cm'],
      ['NK-MUG-2', 'Stoneware mugs (2)', 'Hand glazed, 300 ml'],
      ['NK-TOWEL', 'Linen tea towels (3)', 'Washed linen'],
    ],
  },
  {
    name: 'Trailhead Outdoor',
    description: 'Gear for long walks and cold nights.',
    warehouse_address: 'Industriestraße 7, 80339 Munich, Germany',
    admin: { email: 'marco@trailhead.example', name: 'Marco Weiss' },
    staff: { email: 'sofia@trailhead.example', name: 'Sofia Rossi' },
    products: [
      ['TH-TENT-2', 'Two-person tent', '3-season, 2.1 kg'],
      ['TH-BAG-0', 'Sleeping bag 0 °C', 'Synthetic fill'],
      ['TH-STOVE', 'Camping stove', 'Canister, 2.8 kW'],
      ['TH-LAMP', 'Head lamp', '400 lm, rechargeable'],
      ['TH-BOTTLE', 'Steel bottle 1 l', 'Double walled'],
      ['TH-POLES', 'Trekking poles', 'Carbon, pair'],
    ],
  },
] as const

export const DEMO_CUSTOMERS = [
  { email: 'ada@customer.example', name: 'Ada Lovelace', shipping_address: '12 St James Square, London SW1Y 4JH, UK' },
  { email: 'grace@customer.example', name: 'Grace Hopper', shipping_address: '1 Navy Way, Arlington, VA 22204, USA' },
] as const
