/**
 * Items packed into requests bounded by count and by size (Kinesis PutRecords, EventBridge PutEvents):
 * in order, each request as full as both limits allow; an item alone over the size goes alone.
 */
export function packBySize<T>(items: T[], sizeOf: (item: T) => number, maxCount: number, maxBytes: number): T[][] {
  const requests: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= maxCount || bytes + size > maxBytes)) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}
