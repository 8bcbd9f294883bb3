/**
 * Push delivery on AWS: the trigger dispatcher function, woken by the DynamoDB stream of the
 * chunks table (every append puts or joins a chunk, the head of its partition's chain), handing
 * long runs on to itself by asynchronous invocation, and fed by the once-a-minute sweep.
 *
 * Least privilege for the functions it invokes: lambda:InvokeFunction only on functions tagged
 * `logway:trigger-target=<stack name>` (an IAM condition on the resource tag), and/or on the
 * functions of the `triggerFunctions` allow-list; never on any function of the account.
 */
import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { LogwayFunction, type LogwayFunctionDefaults } from './logway-function';

/** The tag a function needs (value: the stack's name) for this stack's triggers to invoke it. */
export const triggerTargetTag = 'logway:trigger-target';

export interface TriggerDispatcherProps {
  readonly defaults: LogwayFunctionDefaults;
  /** Functions (names or ARNs) triggers may invoke besides those tagged for this stack. */
  readonly allowedFunctions?: readonly string[];
  /** Allow functions tagged `logway:trigger-target=<stack name>`. @default true */
  readonly allowTaggedFunctions?: boolean;
  /** How long one invocation of a trigger's function may take. @default 120 s */
  readonly invokeTimeout?: Duration;
}

export class TriggerDispatcher extends Construct {
  readonly dispatcher: LogwayFunction;

  constructor(scope: Construct, id: string, props: TriggerDispatcherProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const allowTagged = props.allowTaggedFunctions ?? true;
    const allowed = props.allowedFunctions ?? [];
    const invokeTimeout = props.invokeTimeout ?? Duration.seconds(120);
    if (invokeTimeout.toSeconds() > 600)
      throw new Error('TriggerDispatcher: invokeTimeout must leave the dispatcher time within 15 minutes (at most 600 s)');
    for (const entry of allowed) {
      if (!/^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[a-zA-Z0-9-_]{1,64}$/.test(entry)) {
        throw new Error(`triggerFunctions: '${entry}' is not a Lambda function name or unqualified function ARN`);
      }
    }

    this.dispatcher = new LogwayFunction(this, 'Dispatcher', {
      name: 'trigger-dispatch',
      description: 'Logway trigger dispatcher: invokes Lambda functions with topic records, woken by appends',
      // Leases and positions are conditional UpdateItems (an item of a deleted trigger's incarnation
      // is deleted); records are read from the log (heads: the partition item and the last chunk);
      // the failure topic is written through produce, with the produce route's access (a chunk Put,
      // or an UpdateItem joining or sealing the open one, and the Idempotency-Key's record). Appends
      // never write the partitions table.
      tables: {
        triggers: ['read', 'UpdateItem', 'DeleteItem'],
        topics: ['read'],
        partitions: ['read'],
        chunks: ['read', 'PutItem', 'UpdateItem'],
        idempotency: ['read', 'PutItem'],
      },
      bucket: ['read', 'PutObject'],
      timeout: Duration.minutes(15),
      defaults: {
        ...props.defaults,
        environment: {
          ...props.defaults.environment,
          LOGWAY_TRIGGER_INVOKE_TIMEOUT_MS: String(invokeTimeout.toMilliseconds()),
          // With an allow-list only, the dispatcher refuses other functions itself, with a clear error.
          ...(!allowTagged && allowed.length > 0 ? { LOGWAY_TRIGGER_ALLOWED_FUNCTIONS: allowed.join(',') } : {}),
        },
      },
    });
    const fn = this.dispatcher.function;

    // Appends: every chunk put or joined (a wake-up that fails is not lost for long: the sweep finds
    // the partition within a minute). Removals (retention deleting chunks, TTL deleting stubs) are
    // filtered out here. The retention sweep's bookkeeping items in that table (`segment-refs#...`,
    // `orphan-cursor#...`) cannot be: Lambda's filters match a key by prefix but exclude only exact
    // values, so the dispatcher ignores them itself (shared/triggers/stream-keys.ts); only the
    // retention sweep writes them, a few per run, so the invocations they cost are negligible.
    fn.addEventSource(
      new DynamoEventSource(props.defaults.storage.tables.chunks, {
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(0),
        retryAttempts: 2,
        filters: [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.or('INSERT', 'MODIFY') })],
      }),
    );
    // The sweep's wake-up items, and nothing else of the triggers table (its own position commits must not wake it).
    fn.addEventSource(
      new DynamoEventSource(props.defaults.storage.tables.triggers, {
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: 100,
        retryAttempts: 2,
        filters: [
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.or('INSERT', 'MODIFY'),
            dynamodb: { Keys: { item: { S: lambda.FilterRule.beginsWith('w#') } } },
          }),
        ],
      }),
    );
    Validations.of(this.dispatcher.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "dynamodb:ListStreams, which a DynamoDB stream event source needs, has no resource-level permissions; every other stream action is on this stack's two table streams.",
    });

    // Handing on: invoking itself asynchronously. A separate policy, so the function does not depend on it (no cycle).
    new iam.Policy(this, 'HandOn', {
      roles: [this.dispatcher.role],
      statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] })],
    });

    const functionArn = (name: string) => `arn:${Aws.PARTITION}:lambda:${Aws.REGION}:${Aws.ACCOUNT_ID}:function:${name}`;
    const statements: iam.PolicyStatement[] = [];
    if (allowed.length > 0) {
      const arns = allowed.map((entry) => (entry.startsWith('arn:') ? entry : functionArn(entry)));
      statements.push(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: arns.flatMap((arn) => [arn, `${arn}:*`]) }));
    }
    if (allowTagged) {
      statements.push(
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [functionArn('*')],
          conditions: { StringEquals: { [`aws:ResourceTag/${triggerTargetTag}`]: stack.stackName } },
        }),
      );
    }
    if (statements.length > 0) {
      const invokeTargets = new iam.Policy(this, 'InvokeTargets', { roles: [this.dispatcher.role], statements });
      if (allowTagged) {
        Validations.of(invokeTargets).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:*]',
          reason: `Triggers name their functions at run time; InvokeFunction is confined by an IAM condition to functions tagged ${triggerTargetTag}=<this stack's name>, never any function of the account.`,
        });
      }
      for (const entry of allowed) {
        const arn = entry.startsWith('arn:') ? entry : `arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:${entry}`;
        Validations.of(invokeTargets).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${arn}:*]`,
          reason:
            'Function versions and aliases are invoked as <function ARN>:<qualifier>; the wildcard covers only the qualifiers of this allow-listed function.',
        });
      }
    }
  }
}
