/**
 * What an operator looks at: one CloudWatch dashboard (API traffic and latency, Logway's own EMF
 * metrics, every function, every table) and alarms on what means "something is broken": API 5xx,
 * Lambda errors and throttles, DynamoDB throttling. Alarm notifications go to an encrypted SNS
 * topic when an email address is given.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { KafkaGateway } from './kafka-gateway';
import { metricNames } from '../../shared/runtime/metrics';
import { tableIds, tables as tableDefinitions, type TableDefinition, type TableId } from '../../shared/storage/tables';
import type { LogwayFunction } from './logway-function';

/** CloudWatch namespace of Logway's embedded-metric-format metrics (POWERTOOLS_METRICS_NAMESPACE). */
export const metricsNamespace = 'Logway';

/** Metrics the library emits through Powertools Metrics (shared/runtime/metrics.ts). */
export type LogwayMetricName = (typeof metricNames)[keyof typeof metricNames];

export interface LogwayObservabilityProps {
  readonly dashboardName: string;
  /** POWERTOOLS_SERVICE_NAME of every function: the `service` dimension of Logway's metrics. */
  readonly serviceName: string;
  readonly api: apigwv2.HttpApi;
  readonly functions: readonly LogwayFunction[];
  readonly tables: Readonly<Record<TableId, dynamodb.Table>>;
  /** Subscribe this address to an SNS topic that every alarm notifies. @default no notifications */
  readonly alarmEmail?: string;
  /** For the alarm topic's KMS key. */
  readonly removalPolicy: RemovalPolicy;
  /** API 5xx responses per 5 minutes that raise the alarm. @default 5 */
  readonly apiServerErrorThreshold?: number;
  /** The Kafka gateway's service, load balancer and target group: an alarm and a dashboard row. @default none */
  readonly kafkaGateway?: KafkaGateway;
}

/** Dashboard resolution. Alarms evaluate 5-minute sums. */
const graphPeriod = Duration.minutes(1);
const alarmPeriod = Duration.minutes(5);

export class LogwayObservability extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly alarmTopic?: sns.Topic;

  constructor(scope: Construct, id: string, props: LogwayObservabilityProps) {
    super(scope, id);
    const { api, functions, tables } = props;

    // --- Alarms -------------------------------------------------------------------------------
    this.addAlarm('ApiServerErrors', {
      metric: api.metricServerError({ statistic: cloudwatch.Stats.SUM, period: alarmPeriod }),
      threshold: props.apiServerErrorThreshold ?? 5,
      alarmDescription:
        'The API answered 5xx: Logway reserves 5xx for faults of the service itself (handler crash, ' +
        'timeout, integration failure). Start at the access log field integrationError.',
    });
    // One pair per function: a metric-math alarm may reference at most 10 metrics, and the route
    // table alone has ~20 functions.
    for (const fn of functions) {
      const id = functionKey(fn);
      this.addAlarm(`${id}Errors`, {
        metric: fn.function.metricErrors({ statistic: cloudwatch.Stats.SUM, period: alarmPeriod }),
        threshold: 1,
        alarmDescription:
          `Lambda ${fn.name} failed an invocation (unhandled error, timeout or out of memory). ` +
          'Handlers map every expected error to a 4xx, so any error here is a bug or a limit.',
      });
      this.addAlarm(`${id}Throttles`, {
        metric: fn.function.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: alarmPeriod }),
        threshold: 1,
        alarmDescription: `Lambda ${fn.name} was throttled: the account or function concurrency limit was reached.`,
      });
    }
    for (const tableId of tableIds) {
      this.addAlarm(`${tableDefinitions[tableId].id}TableThrottles`, {
        metric: throttleEvents(tables[tableId], tableId, alarmPeriod),
        threshold: 1,
        alarmDescription:
          `DynamoDB throttled reads or writes on the ${tableId} table or its indexes: a hot partition ` +
          'key or an on-demand throughput limit.',
      });
    }

    if (props.kafkaGateway) {
      this.addAlarm('KafkaGatewayUnhealthyTasks', {
        metric: props.kafkaGateway.targetGroup.metrics.unHealthyHostCount({ statistic: cloudwatch.Stats.MAXIMUM, period: alarmPeriod }),
        threshold: 1,
        alarmDescription:
          'A Kafka gateway task failed the load balancer health check (TCP connect to 9092): it crashed, is ' +
          'starting, or cannot listen. Look at the gateway log group and the ECS service events.',
      });
    }

    if (props.alarmEmail) {
      this.alarmTopic = this.notifyByEmail(props.alarmEmail, props.removalPolicy);
    }

    // --- Dashboard ----------------------------------------------------------------------------
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
    });
    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = [], width = 8) =>
      new cloudwatch.GraphWidget({ title, left, right, width, height: 6 });
    const sum = { statistic: cloudwatch.Stats.SUM, period: graphPeriod };

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# ${props.dashboardName}\nHTTP API, Logway metrics (namespace \`${metricsNamespace}\`), Lambda and DynamoDB.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('API requests', [api.metricCount({ ...sum, label: 'Requests' })]),
      graph('API errors', [api.metricClientError({ ...sum, label: '4xx' }), api.metricServerError({ ...sum, label: '5xx' })]),
      graph('API latency (ms)', [
        api.metricLatency({ statistic: cloudwatch.Stats.p(50), period: graphPeriod, label: 'p50' }),
        api.metricLatency({ statistic: cloudwatch.Stats.p(99), period: graphPeriod, label: 'p99' }),
        api.metricIntegrationLatency({ statistic: cloudwatch.Stats.p(99), period: graphPeriod, label: 'integration p99' }),
      ]),
    );
    const logway = (...names: LogwayMetricName[]) => names.map((name) => logwayMetric(name, props.serviceName, graphPeriod));
    this.dashboard.addWidgets(
      graph('Records produced / fetched', logway(metricNames.recordsProduced, metricNames.recordsFetched), [], 6),
      graph('Bytes produced / fetched', logway(metricNames.bytesProduced, metricNames.bytesFetched), [], 6),
      graph('Append conflicts / retries', logway(metricNames.appendConflicts, metricNames.appendRetries), [], 6),
      graph('Long-poll waits', logway(metricNames.longPollWaits), [], 6),
    );
    this.dashboard.addWidgets(
      graph(
        'Lambda errors',
        functions.map((fn) => fn.function.metricErrors({ ...sum, label: fn.name })),
      ),
      graph(
        'Lambda throttles',
        functions.map((fn) => fn.function.metricThrottles({ ...sum, label: fn.name })),
      ),
      graph(
        'Lambda duration p99 (ms)',
        functions.map((fn) => fn.function.metricDuration({ statistic: cloudwatch.Stats.p(99), period: graphPeriod, label: fn.name })),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'DynamoDB throttle events',
        tableIds.map((tableId) => throttleEvents(tables[tableId], tableId, graphPeriod)),
      ),
      graph(
        'DynamoDB consumed read capacity',
        tableIds.map((tableId) => tables[tableId].metricConsumedReadCapacityUnits({ ...sum, label: tableId })),
      ),
      graph(
        'DynamoDB consumed write capacity',
        tableIds.map((tableId) => tables[tableId].metricConsumedWriteCapacityUnits({ ...sum, label: tableId })),
      ),
    );
    if (props.kafkaGateway) {
      const { loadBalancer, service, targetGroup } = props.kafkaGateway;
      this.dashboard.addWidgets(
        graph(
          'Kafka gateway connections',
          [
            loadBalancer.metrics.activeFlowCount({ statistic: cloudwatch.Stats.AVERAGE, period: graphPeriod, label: 'active' }),
            loadBalancer.metrics.newFlowCount({ ...sum, label: 'new' }),
          ],
          [],
          6,
        ),
        graph(
          'Kafka gateway TLS errors and resets',
          [
            loadBalancer.metrics.custom('ClientTLSNegotiationErrorCount', { ...sum, label: 'client TLS negotiation errors' }),
            loadBalancer.metrics.tcpTargetResetCount({ ...sum, label: 'resets by tasks' }),
          ],
          [],
          6,
        ),
        graph(
          'Kafka gateway tasks',
          [
            targetGroup.metrics.healthyHostCount({ statistic: cloudwatch.Stats.MINIMUM, period: graphPeriod, label: 'healthy' }),
            targetGroup.metrics.unHealthyHostCount({ statistic: cloudwatch.Stats.MAXIMUM, period: graphPeriod, label: 'unhealthy' }),
          ],
          [],
          6,
        ),
        graph(
          'Kafka gateway CPU / memory (%)',
          [
            service.metricCpuUtilization({ period: graphPeriod, label: 'CPU' }),
            service.metricMemoryUtilization({ period: graphPeriod, label: 'memory' }),
          ],
          [],
          6,
        ),
      );
    }
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }));
  }

  private addAlarm(id: string, props: { metric: cloudwatch.IMetric; threshold: number; alarmDescription: string }) {
    const alarm = new cloudwatch.Alarm(this, `${id}Alarm`, {
      ...props,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic is not an outage.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarms.push(alarm);
    return alarm;
  }

  /**
   * An SNS topic every alarm notifies (on alarm and on recovery), encrypted with a customer managed
   * key: CloudWatch cannot publish to a topic encrypted with the AWS managed aws/sns key.
   */
  private notifyByEmail(email: string, removalPolicy: RemovalPolicy): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the Logway alarm notification topic',
      enableKeyRotation: true,
      removalPolicy,
    });
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Logway alarms',
      masterKey: key,
      enforceSSL: true,
    });
    topic.addSubscription(new subscriptions.EmailSubscription(email));
    const action = new SnsAction(topic);
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    return topic;
  }
}

/** A stable, unique id fragment for a function: its scope (Routes / Schedules) and its own id. */
function functionKey(fn: LogwayFunction): string {
  return `${fn.node.scope?.node.id ?? ''}${fn.node.id}`;
}

/**
 * A Logway EMF metric of one deployment. Powertools Metrics publishes every metric with the
 * dimension `service` = POWERTOOLS_SERVICE_NAME, which the stack sets to its own name, so dev and
 * prod in one account stay apart. (A dimension the library adds would need a matching change here.)
 */
function logwayMetric(metricName: LogwayMetricName, serviceName: string, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: metricsNamespace,
    metricName,
    dimensionsMap: { service: serviceName },
    statistic: cloudwatch.Stats.SUM,
    period,
    label: metricName,
  });
}

/** Read and write throttle events of a table and all of its global secondary indexes. */
function throttleEvents(table: dynamodb.Table, tableId: TableId, period: Duration): cloudwatch.IMetric {
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  const scopes: Record<string, string>[] = [{}];
  const definition: TableDefinition = tableDefinitions[tableId];
  for (const index of definition.globalIndexes ?? []) scopes.push({ GlobalSecondaryIndexName: index.indexName });
  scopes.forEach((dimensions, i) => {
    for (const [key, metricName] of [
      ['Read', 'ReadThrottleEvents'],
      ['Write', 'WriteThrottleEvents'],
    ] as const) {
      // Ids are unique across tables: one graph shows every table's expression.
      usingMetrics[`${tableId}${key}${i}`] = table.metric(metricName, {
        statistic: cloudwatch.Stats.SUM,
        period,
        dimensionsMap: { TableName: table.tableName, ...dimensions },
      });
    }
  });
  // Throttle-event metrics only have data points when something was throttled; without FILL a
  // sum would be empty unless every term had a point at the same time.
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    label: tableId,
    period,
  });
}
