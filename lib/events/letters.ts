/**
 * What a dead letter keeps of the message or record it is about: its JSON (already without personal
 * data), cut to a size every store takes (a stream record can be a megabyte; an item at most 400 KB).
 */
export const MAX_DEAD_LETTER_DATA_BYTES = 8 * 1024;

/** Text cut at `bytes` bytes of UTF-8, whole characters only, with a note of the full size. */
export function cutText(text: string, bytes = MAX_DEAD_LETTER_DATA_BYTES): string {
  const size = Buffer.byteLength(text, 'utf8');
  if (size <= bytes) return text;
  const note = `…[cut: ${size} bytes in all]`;
  const prefix = Buffer.from(text, 'utf8').subarray(0, bytes - Buffer.byteLength(note, 'utf8')).toString('utf8');
  // A character cut in two decodes as one replacement character at the end (JSON.stringify leaves no lone surrogates).
  return `${prefix.endsWith('\uFFFD') ? prefix.slice(0, -1) : prefix}${note}`;
}
