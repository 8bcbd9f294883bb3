/**
 * How many chunks a reader asks for in each Query page of the chain. Each chunk read is billed,
 * so a page asks for no more than the reader can still use: records (every chunk with a batch
 * holds at least one), and, once the chunks already read say how many stored bytes a chunk holds,
 * the stored bytes it can still use (plus the chunk that ends the read) and what fits in one
 * DynamoDB page (1 MB of items). A page that asks for more than fits in 1 MB ends at 1 MB anyway,
 * and DynamoDB Local reads every item up to the Limit before it cuts (measured in
 * docs/performance.md): a fetch of 1 MiB over single-record chunks asked for 1,336 chunks to
 * use 958.
 */

/** DynamoDB's page limit: a Query returns at most this many bytes of items. */
export const queryPageBytes = 1_048_576;

/** A page is never larger than this many items (a Query's Limit is a number of items). */
export const largestPage = 1000;

/**
 * What a chunk item weighs beyond its inline batch bytes (DynamoDB counts attribute names and
 * values): its own attributes, and each batch's entry. On the high side, so that a page sized by
 * them ends before DynamoDB's 1 MB cut (a single-record chunk of 1 KiB weighs ~1,440 bytes with a
 * map entry, ~100 fewer packed; the estimate keeps the map's, which only shortens pages a little).
 */
export const chunkItemOverheadBytes = 400;
export const batchEntryOverheadBytes = 160;

/** The chunks read so far, as far as they tell what the next ones weigh. */
export interface ChainSeen {
  /** Chunks holding at least one batch. */
  readonly chunks: number;
  readonly batches: number;
  /** Stored bytes of their batches (`sizeBytes`, inline or in S3): what the reader's byte limit counts. */
  readonly storedBytes: number;
  /** Bytes the chunk items carry inline (an S3 batch's item holds only its place). */
  readonly inlineBytes: number;
}

export const nothingSeen: ChainSeen = { chunks: 0, batches: 0, storedBytes: 0, inlineBytes: 0 };

/** What the reader can still use. */
export interface ReaderNeeds {
  readonly records: number;
  /** Stored bytes it can still take; absent: no byte limit. */
  readonly storedBytes?: number;
}

/**
 * The Limit of the next page: at most the records still needed and, once chunks were seen, what
 * fits in one DynamoDB page at their average weight. A reader with a byte limit asks, once chunks
 * were seen, for the chunks its remaining bytes need at their average stored size; before that
 * (and a reader without a byte limit always) for `planned`, the caller's growing page size.
 */
export function nextPageSize(planned: number, seen: ChainSeen, needs: ReaderNeeds): number {
  let size = Math.min(largestPage, needs.records);
  if (seen.chunks === 0 || needs.storedBytes === undefined) size = Math.min(size, planned);
  if (seen.chunks > 0) {
    const storedPerChunk = seen.storedBytes / seen.chunks;
    const itemBytes = (seen.inlineBytes + seen.chunks * chunkItemOverheadBytes + seen.batches * batchEntryOverheadBytes) / seen.chunks;
    size = Math.min(size, Math.floor(queryPageBytes / itemBytes));
    if (needs.storedBytes !== undefined && storedPerChunk > 0) {
      // 5 % over the average for chunks of uneven size, and one more: the chunk that does not fit
      // ends the read in this page instead of in a page of its own.
      size = Math.min(size, Math.ceil((Math.max(0, needs.storedBytes) / storedPerChunk) * 1.05) + 1);
    }
  }
  return Math.max(1, Math.floor(size));
}

/** `seen` with one more chunk's batches counted (fences, stubs and empty chunks tell nothing). */
export function withChunk(seen: ChainSeen, batches: readonly { readonly sizeBytes: number; readonly bytes?: Uint8Array }[]): ChainSeen {
  if (batches.length === 0) return seen;
  let storedBytes = seen.storedBytes;
  let inlineBytes = seen.inlineBytes;
  for (const batch of batches) {
    storedBytes += batch.sizeBytes;
    inlineBytes += batch.bytes?.byteLength ?? 0;
  }
  return { chunks: seen.chunks + 1, batches: seen.batches + batches.length, storedBytes, inlineBytes };
}
