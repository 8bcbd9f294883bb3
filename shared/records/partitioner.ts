/**
 * Kafka's default partitioning, so a key lands on the same partition whether
 * it was produced through Logway, KafkaJS's DefaultPartitioner or the Java
 * client:
 *  - keyed records: toPositive(murmur2(keyBytes)) % numPartitions
 *    (Utils.murmur2 with seed 0x9747b28c; toPositive = x & 0x7fffffff);
 *  - null keys: "sticky" (KIP-480) - one random partition per request for all
 *    of its null-key records, so a request makes one batch instead of many,
 *    while requests spread evenly across partitions.
 */

const MURMUR2_SEED = 0x9747b28c;
const MURMUR2_M = 0x5bd1e995;
const MURMUR2_R = 24;

const textEncoder = new TextEncoder();

/** Java's Utils.murmur2: a signed 32-bit hash. Strings are hashed as their UTF-8 bytes. */
export function murmur2(key: Uint8Array | string): number {
  const data = typeof key === 'string' ? textEncoder.encode(key) : key;
  const length = data.length;
  let h = MURMUR2_SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, MURMUR2_M);
    k ^= k >>> MURMUR2_R;
    k = Math.imul(k, MURMUR2_M);
    h = Math.imul(h, MURMUR2_M);
    h ^= k;
  }
  // Java's switch falls through: 3 trailing bytes mix all three, 2 mix two...
  const tail = length & ~3;
  const remainder = length & 3;
  if (remainder > 0) {
    if (remainder === 3) h ^= data[tail + 2]! << 16;
    if (remainder >= 2) h ^= data[tail + 1]! << 8;
    h ^= data[tail]!;
    h = Math.imul(h, MURMUR2_M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, MURMUR2_M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which differs for negatives). */
export function toPositive(value: number): number {
  return value & 0x7fffffff;
}

function requirePartitionCount(numPartitions: number): void {
  if (!Number.isInteger(numPartitions) || numPartitions < 1 || numPartitions > 0x7fffffff) {
    throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`);
  }
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array | string, numPartitions: number): number {
  requirePartitionCount(numPartitions);
  return toPositive(murmur2(key)) % numPartitions;
}

/**
 * A partitioner for one produce request: keyed records hash as
 * `partitionForKey`; all null-key records of the request share one partition,
 * drawn with `random` (a [0, 1) source, Math.random by default) the first time
 * a null key is seen. Create one per request.
 */
export function createRequestPartitioner(
  numPartitions: number,
  random: () => number = Math.random,
): (key: Uint8Array | string | null) => number {
  requirePartitionCount(numPartitions);
  let stickyPartition = -1;
  return (key) => {
    if (key !== null) return toPositive(murmur2(key)) % numPartitions;
    if (stickyPartition < 0) stickyPartition = Math.min(Math.floor(random() * numPartitions), numPartitions - 1);
    return stickyPartition;
  };
}
