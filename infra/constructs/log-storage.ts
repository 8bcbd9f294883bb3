/**
 * Where Logway keeps its data: one DynamoDB table per entry of shared/storage/tables.ts and the
 * S3 bucket of segment objects, plus the bucket that receives the segment bucket's access logs.
 * `grantAccess` turns a route's (or schedule's) access lists into IAM grants, and nothing more.
 */
import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { bucketActions, tableActions, type BucketAccess, type TableAccess } from '../../shared/http/routes';
import {
  segmentBucket as segmentBucketDefinition,
  tableIds,
  tables as tableDefinitions,
  type AttributeType,
  type KeyAttribute,
  type TableDefinition,
  type TableId,
} from '../../shared/storage/tables';

/** What one function may touch; route and schedule definitions both have this shape. */
export interface DataAccess {
  readonly tables: Partial<Record<TableId, TableAccess>>;
  readonly bucket?: BucketAccess;
}

export interface LogStorageProps {
  /**
   * What happens to tables and buckets when they leave the stack: RETAIN for anything holding
   * data someone cares about, DESTROY for throwaway stages.
   */
  readonly removalPolicy: RemovalPolicy;
  /** DynamoDB deletion protection: a table cannot be deleted, by CloudFormation or anyone, while on. */
  readonly deletionProtection: boolean;
  /** Empty the buckets on stack deletion so DESTROY can succeed (throwaway stages only). */
  readonly autoDeleteObjects: boolean;
  /** How long the segment bucket's server access logs are kept. @default 90 days */
  readonly accessLogExpiration?: Duration;
}

const attributeTypes: Record<AttributeType, dynamodb.AttributeType> = {
  S: dynamodb.AttributeType.STRING,
  N: dynamodb.AttributeType.NUMBER,
  B: dynamodb.AttributeType.BINARY,
};

const toAttribute = (key: KeyAttribute): dynamodb.Attribute => ({
  name: key.name,
  type: attributeTypes[key.type],
});

export class LogStorage extends Construct {
  readonly tables: Readonly<Record<TableId, dynamodb.Table>>;
  readonly segmentBucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: LogStorageProps) {
    super(scope, id);

    const tables = {} as Record<TableId, dynamodb.Table>;
    for (const tableId of tableIds) {
      const definition: TableDefinition = tableDefinitions[tableId];
      const table = new dynamodb.Table(this, `${definition.id}Table`, {
        partitionKey: toAttribute(definition.partitionKey),
        sortKey: definition.sortKey ? toAttribute(definition.sortKey) : undefined,
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: definition.ttlAttribute,
        deletionProtection: props.deletionProtection,
        removalPolicy: props.removalPolicy,
      });
      for (const index of definition.globalIndexes ?? []) {
        table.addGlobalSecondaryIndex({
          indexName: index.indexName,
          partitionKey: toAttribute(index.partitionKey),
          sortKey: index.sortKey ? toAttribute(index.sortKey) : undefined,
          ...(index.projectedAttributes.length > 0
            ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...index.projectedAttributes] }
            : { projectionType: dynamodb.ProjectionType.KEYS_ONLY }),
        });
      }
      tables[tableId] = table;
    }
    this.tables = tables;

    // Receives the segment bucket's server access logs (cdk-nag's S1 knows a log bucket as such).
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // S3 server access logging can only deliver into SSE-S3 encrypted buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: props.accessLogExpiration ?? Duration.days(90) },
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: props.autoDeleteObjects,
    });

    this.segmentBucket = new s3.Bucket(this, `${segmentBucketDefinition.id}Bucket`, {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Segment objects are written once and never overwritten: versions would only add cost.
      versioned: false,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: `${segmentBucketDefinition.id.toLowerCase()}/`,
      lifecycleRules: [
        // Produce uploads are single PUTs today; this only reclaims parts of an upload that died.
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // No expiration rule: which objects are garbage is the log's knowledge, not S3's. A
        // segment whose DynamoDB commit failed is never referenced, and the retention sweep
        // deletes it along with the topic's expired segments (docs/storage.md).
      ],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: props.autoDeleteObjects,
    });
  }

  /** Environment variables that tell handlers the physical name of every table and the bucket. */
  get environment(): Record<string, string> {
    const environment: Record<string, string> = {};
    for (const tableId of tableIds) environment[tableDefinitions[tableId].envVar] = this.tables[tableId].tableName;
    environment[segmentBucketDefinition.envVar] = this.segmentBucket.bucketName;
    return environment;
  }

  /**
   * Grants `role` exactly the actions `access` lists (shared/http/routes.ts): each table's on that
   * table, and Query/Scan also on its named indexes; object actions on the segments/ prefix of the
   * segment bucket, ListBucket on the bucket. Tables and the bucket that are not listed get nothing.
   */
  grantAccess(role: iam.Role, access: DataAccess): void {
    for (const [tableId, grants] of Object.entries(access.tables) as [TableId, TableAccess][]) {
      const table = this.tables[tableId];
      if (!table) throw new Error(`Unknown table '${tableId}' in an access map`);
      const actions = tableActions(grants);
      if (actions.length === 0) throw new Error(`The ${tableId} table is listed with no actions`);
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: actions.map((a) => `dynamodb:${a}`), resources: [table.tableArn] }));
      const definition: TableDefinition = tableDefinitions[tableId];
      const indexActions = actions.filter((a) => a === 'Query' || a === 'Scan');
      if (definition.globalIndexes?.length && indexActions.length > 0) {
        // DynamoDB authorizes a Query on an index against <table ARN>/index/<name>.
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: indexActions.map((a) => `dynamodb:${a}`),
            resources: definition.globalIndexes.map((index) => `${table.tableArn}/index/${index.indexName}`),
          }),
        );
      }
    }

    if (access.bucket) {
      const bucket = this.segmentBucket;
      const actions = bucketActions(access.bucket);
      const objectActions = actions.filter((a) => a !== 'ListBucket');
      if (objectActions.length > 0) {
        const segments = bucket.arnForObjects(`${segmentBucketDefinition.segmentPrefix}*`);
        role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: objectActions.map((a) => `s3:${a}`), resources: [segments] }));
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${this.logicalIdOf(bucket)}.Arn>/${segmentBucketDefinition.segmentPrefix}*]`,
          reason:
            'Segment object keys are created at run time (segments/<topic id>/...), so object ARNs need a ' +
            'wildcard; it is confined to the segments/ prefix of this one bucket.',
        });
      }
      // ListBucket makes a missing key a 404 rather than a 403, and lets the sweep list a topic.
      if (actions.includes('ListBucket')) {
        role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
      }
    }
  }

  private logicalIdOf(resource: dynamodb.Table | s3.Bucket): string {
    return Stack.of(this).getLogicalId(resource.node.defaultChild as dynamodb.CfnTable | s3.CfnBucket);
  }
}
