/**
 * Every item of a DynamoDB Query or Scan, page after page (each page at most 1 MB or `Limit`
 * items). A caller that stops iterating early reads no further page.
 */
import { QueryCommand, ScanCommand, type QueryCommandInput, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './aws';

type Item = Record<string, unknown>;

/** Pages from `readPage`, which may vary its request (e.g. a growing Limit) from page to page. */
export async function* paged(
  readPage: (startKey: Item | undefined) => Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>,
): AsyncGenerator<Item> {
  let startKey: Item | undefined;
  do {
    const page = await readPage(startKey);
    yield* page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

export function queryItems(input: QueryCommandInput): AsyncGenerator<Item> {
  return paged((startKey) => dynamo().send(new QueryCommand({ ...input, ExclusiveStartKey: startKey })));
}

export function scanItems(input: ScanCommandInput): AsyncGenerator<Item> {
  return paged((startKey) => dynamo().send(new ScanCommand({ ...input, ExclusiveStartKey: startKey })));
}
