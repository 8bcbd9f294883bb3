/**
 * An example trigger function: a Lambda handler written for a Kafka event source (Powertools'
 * kafkaConsumer), unchanged. It "charges" each order and reports the orders it cannot process
 * (no amount) as batch item failures, so Logway retries from them and, once their retries run
 * out, sends them to the trigger's failure topic.
 *
 *   LOGWAY_FUNCTIONS=process-orders=examples/functions/process-orders.ts npm start
 */
import { kafkaConsumer } from '@aws-lambda-powertools/kafka';

interface Order {
  id: string;
  amount?: number;
}

export const handler = kafkaConsumer<string, Order>(
  async (event) => {
    const batchItemFailures: { itemIdentifier: { 'topic-partition': string; offset: number } }[] = [];
    for (const record of event.records) {
      if (typeof record.value.amount !== 'number') {
        batchItemFailures.push({ itemIdentifier: { 'topic-partition': `${record.topic}-${record.partition}`, offset: record.offset } });
        break; // later records of this partition are retried with it, in order
      }
      console.log(
        `  [process-orders] charged ${record.value.id}: $${record.value.amount} (${record.topic}-${record.partition}@${record.offset})`,
      );
    }
    return { batchItemFailures };
  },
  { value: { type: 'json' } },
);
