import seed from '../../events/journeys/seed.json';
import { completeMessage, parseMessage, type CollectedEvent } from '../../lib/events/segment';

export const SEED = seed;

/** The seed journey's messages as the collector would put them on the stream. */
export function seedEvents(): CollectedEvent[] {
  return seed.messages.map((m, i) =>
    completeMessage(parseMessage({ ...m, messageId: `seed-${i}` }), new Date(m.timestamp)),
  );
}
