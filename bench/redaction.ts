/**
 * Redaction benchmark (not a test): microseconds per message for `redactPersonalData` as the collector
 * runs it (every message, client-sent hashes hashed again) and as the ingest runs it on a record from
 * another producer (hashed values trusted), over two mixes: the synthetic population's events (small
 * messages: ids, a few properties, ip/locale/timezone/userAgent/device context) and rich messages as
 * analytics.js and the mobile SDKs send them (full context: app, device, library, os, page, campaign,
 * referrer, screen, network, location; identify traits with addresses; orders with products and a
 * shipping address). `npx tsx bench/redaction.ts`.
 */
import { redactPersonalData } from '../lib/events/personal';
import { defaultEventPolicy } from '../lib/events/policy';
import { generatePopulation } from './synthetic/population';

const policy = defaultEventPolicy().personalData;
const SALT = 'bench-salt';

const fullContext = (i: number) => ({
  app: { name: 'Shop', version: '4.2.1', build: '421', namespace: 'com.example.shop' },
  device: { id: `dev-${i}`, manufacturer: 'Apple', model: 'iPhone15,2', name: 'iPhone', type: 'ios', advertisingId: `ad-${i}`, adTrackingEnabled: false },
  library: { name: 'analytics.js', version: '2.11.1' },
  locale: 'en-GB',
  timezone: 'Europe/London',
  userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
  ip: `203.0.113.${i % 250}`,
  network: { bluetooth: false, carrier: 'EE', cellular: true, wifi: false },
  os: { name: 'iOS', version: '17.1' },
  screen: { width: 390, height: 844, density: 3 },
  location: { latitude: 53.8, longitude: -1.55, city: 'Leeds', country: 'GB', speed: 0 },
  page: { path: '/products/sage-paint', referrer: 'https://www.google.com/', search: '?utm_source=news', title: 'Sage paint 2L', url: `https://shop.example/products/sage-paint?utm_source=news&v=${i}` },
  campaign: { name: 'autumn', source: 'news', medium: 'email', term: 'paint', content: 'hero' },
  referrer: { type: 'web', url: 'https://www.google.com/' },
  sessionId: `s-${i}`,
  channel: 'web',
});

function richMessages(n: number): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    const common = { anonymousId: `anon-${i}`, messageId: `m-${i}`, timestamp: '2026-11-20T10:00:00.000Z', receivedAt: '2026-11-20T10:00:00.100Z', sentAt: '2026-11-20T10:00:00.050Z', integrations: { All: true }, context: fullContext(i) };
    switch (i % 4) {
      case 0:
        out.push({ ...common, type: 'page', name: 'Product', category: 'paint', properties: { path: '/products/sage-paint', title: 'Sage paint 2L', url: 'https://shop.example/products/sage-paint', referrer: 'https://www.google.com/' } });
        break;
      case 1:
        out.push({ ...common, type: 'track', event: 'Product Viewed', properties: { product_id: `p-${i % 50}`, sku: 'SP-2L', category: 'paint', name: 'Sage paint 2L', brand: 'Acme', variant: 'sage', price: 24.99, quantity: 1, currency: 'GBP', url: 'https://shop.example/products/sage-paint', image_url: 'https://cdn.example/sage.png' } });
        break;
      case 2:
        out.push({
          ...common,
          type: 'identify',
          userId: `cust-${i}`,
          traits: { email: `person${i}@example.org`, phone: '+44 20 7946 0958', firstName: 'Ann', lastName: 'Smith', plan: 'gold', createdAt: '2024-01-01T00:00:00.000Z', address: { street: '1 Acacia Avenue', city: 'Leeds', postalCode: 'LS1 4AP', country: 'GB' }, marketingOptIn: true },
        });
        break;
      default:
        out.push({
          ...common,
          type: 'track',
          event: 'Order Completed',
          userId: `cust-${i}`,
          properties: {
            order_id: `o-${i}`,
            total: 54.97,
            revenue: 49.97,
            shipping: 5,
            tax: 9.16,
            currency: 'GBP',
            coupon: 'AUTUMN10',
            shipping_address: { line1: '1 Acacia Avenue', city: 'Leeds', postal_code: 'LS1 4AP', country: 'GB' },
            products: [
              { product_id: 'p-1', sku: 'SP-2L', name: 'Sage paint 2L', price: 24.99, quantity: 1, category: 'paint' },
              { product_id: 'p-2', sku: 'BR-50', name: 'Brush 50mm', price: 12.49, quantity: 2, category: 'tools' },
            ],
          },
        });
    }
  }
  return out;
}

function microsPerMessage(messages: unknown[], trustHashed: boolean): number {
  const rounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    const started = process.hrtime.bigint();
    for (const m of messages) redactPersonalData(m, policy, SALT, { trustHashed });
    rounds.push(Number(process.hrtime.bigint() - started) / 1000 / messages.length);
  }
  rounds.sort((a, b) => a - b);
  return rounds[Math.floor(rounds.length / 2)] as number;
}

const population = generatePopulation({ seed: 7, households: 120, days: 14 }).map(({ event }) => event);
const rich = richMessages(4000);
const redactedRich = rich.map((m) => redactPersonalData(m, policy, SALT));
for (const [label, messages, trust] of [
  [`population events (${population.length}), collector`, population, false],
  [`rich messages (${rich.length}), collector`, rich, false],
  [`rich messages (${rich.length}) already redacted, ingest (another producer)`, redactedRich, true],
] as const) {
  microsPerMessage(messages, trust); // warm-up
  console.log(`${label}: ${microsPerMessage(messages, trust).toFixed(2)} µs/message`);
}
