/**
 * The IAM check (test/support/iam-check.ts): which IAM requests each SDK call is, that a call the
 * synthesized policy does not allow fails as AWS fails it before anything is sent, and that the
 * functions' real calls pass, including the retention sweep's. The regression: on the main of
 * 2026-12-01, DELETE /v1/topics/{t} was AccessDenied on AWS (its role could touch only the topics
 * table, but it marks partition items deleted) while every local test passed.
 */
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { sweepRetention } from '../../shared/log/retention';
import { bucketName, runAsFunction, s3Client, setAwsRequestCheck, tableName } from '../../shared/runtime/aws';
import { tableIds, tables } from '../../shared/storage/tables';
import { answerScope, iamCheck, permissionsFor } from '../support/iam-check';
import { referenceBucket, referenceTableArn, type PolicyDocument } from '../support/iam-policies';
import { iamDenials } from '../support/iam-setup';
import { useTestService } from '../support/local-service';

const { http } = useTestService();
const policies = inject('iamPolicies');
const globalCheck = () => (globalThis as { logwayIamCheck?: { check: Parameters<typeof setAwsRequestCheck>[0] } }).logwayIamCheck!.check;

afterEach(() => setAwsRequestCheck(globalCheck()));

/** What main's template granted delete-topic: CDK's readWriteData on the topics table, nothing on partitions. */
const mainDeleteTopicPolicy: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: [
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
      ],
      Resource: [referenceTableArn('topics')],
    },
  ],
};

describe('IAM requests of an SDK call', () => {
  it('one per table for batch calls, one per item with its own action for transactions, index ARNs for index queries', () => {
    const names = Object.fromEntries(tableIds.map((id) => [id, process.env[tables[id].envVar]]));
    expect(
      permissionsFor({
        service: 'dynamodb',
        commandName: 'BatchGetItemCommand',
        input: { RequestItems: { [names.partitions!]: {}, [names.topics!]: {} } },
      }),
    ).toEqual([
      { action: 'dynamodb:BatchGetItem', resource: referenceTableArn('partitions') },
      { action: 'dynamodb:BatchGetItem', resource: referenceTableArn('topics') },
    ]);
    expect(
      permissionsFor({
        service: 'dynamodb',
        commandName: 'TransactWriteItemsCommand',
        input: {
          TransactItems: [
            { ConditionCheck: { TableName: names.groups } },
            { Put: { TableName: names.offsets } },
            { Update: { TableName: names.partitions } },
            { Delete: { TableName: names.topics } },
          ],
        },
      }),
    ).toEqual([
      { action: 'dynamodb:ConditionCheckItem', resource: referenceTableArn('groups') },
      { action: 'dynamodb:PutItem', resource: referenceTableArn('offsets') },
      { action: 'dynamodb:UpdateItem', resource: referenceTableArn('partitions') },
      { action: 'dynamodb:DeleteItem', resource: referenceTableArn('topics') },
    ]);
    expect(
      permissionsFor({ service: 'dynamodb', commandName: 'QueryCommand', input: { TableName: names.chunks, IndexName: 'bySegment' } }),
    ).toEqual([{ action: 'dynamodb:Query', resource: `${referenceTableArn('chunks')}/index/bySegment` }]);
  });

  it('S3: object ARNs per key, HeadObject as GetObject, listing on the bucket', () => {
    const Bucket = process.env.LOGWAY_BUCKET;
    expect(
      permissionsFor({
        service: 's3',
        commandName: 'DeleteObjectsCommand',
        input: { Bucket, Delete: { Objects: [{ Key: 'segments/a/1' }, { Key: 'segments/a/2' }] } },
      }),
    ).toEqual([
      { action: 's3:DeleteObject', resource: `arn:aws:s3:::${referenceBucket}/segments/a/1` },
      { action: 's3:DeleteObject', resource: `arn:aws:s3:::${referenceBucket}/segments/a/2` },
    ]);
    expect(permissionsFor({ service: 's3', commandName: 'HeadObjectCommand', input: { Bucket, Key: 'segments/k' } })).toEqual([
      { action: 's3:GetObject', resource: `arn:aws:s3:::${referenceBucket}/segments/k` },
    ]);
    expect(permissionsFor({ service: 's3', commandName: 'ListObjectsV2Command', input: { Bucket, Prefix: 'segments/' } })).toEqual([
      { action: 's3:ListBucket', resource: `arn:aws:s3:::${referenceBucket}` },
    ]);
  });

  it('shares one answer among the objects of a folder, unless a pattern reaches into the folder', () => {
    const objects = `arn:aws:s3:::${referenceBucket}`;
    const policy = (...resources: string[]): PolicyDocument => ({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: resources }],
    });
    const segments = policy(`${objects}/segments/*`, objects, referenceTableArn('chunks'));
    expect(answerScope(segments, `${objects}/segments/t1/a.seg`)).toBe(`${objects}/segments/t1/*`);
    expect(answerScope(segments, `${objects}/segments/t1/b.seg`)).toBe(`${objects}/segments/t1/*`);
    // Not objects, or not in a folder: their own scope.
    expect(answerScope(segments, referenceTableArn('chunks'))).toBe(referenceTableArn('chunks'));
    expect(answerScope(segments, objects)).toBe(objects);
    expect(answerScope(segments, `${objects}/top-level`)).toBe(`${objects}/top-level`);
    // A pattern that tells objects of one folder apart, or one IAM's matching is not a prefix for.
    expect(answerScope(policy(`${objects}/segments/t1/a*`), `${objects}/segments/t1/b.seg`)).toBe(`${objects}/segments/t1/b.seg`);
    expect(answerScope(policy(`${objects}/segments/t1/`), `${objects}/segments/t1/b.seg`)).toBe(`${objects}/segments/t1/b.seg`);
    expect(answerScope(policy(`${objects}/segments/*.seg`), `${objects}/segments/t1/b.seg`)).toBe(`${objects}/segments/t1/b.seg`);
    expect(answerScope(policy(`${objects}/\${aws:username}/*`), `${objects}/u/b`)).toBe(`${objects}/u/b`);
  });

  it('refuses to guess about a command it does not know', () => {
    expect(() => permissionsFor({ service: 'dynamodb', commandName: 'ExecuteStatementCommand', input: {} })).toThrow(
      /not mapped to IAM actions/,
    );
  });
});

describe('the check on the real clients', () => {
  it('regression: DELETE /v1/topics/{t} under the policy main synthesized is AccessDenied, and a 500', async () => {
    await http.post('/v1/topics', { name: 'doomed', partitions: 2 });
    const main = iamCheck({ ...policies, functions: { ...policies.functions, 'delete-topic': mainDeleteTopicPolicy } });
    setAwsRequestCheck(main.check);
    const denied = await http.delete('/v1/topics/doomed');
    expect(denied.status).toBe(500);
    // One per partition: they are marked deleted in parallel.
    const denials = main.takeDenials();
    expect(denials.length).toBeGreaterThan(0);
    for (const denial of denials) {
      expect(denial).toEqual({
        functionName: 'delete-topic',
        action: 'dynamodb:UpdateItem',
        resource: referenceTableArn('partitions'),
        commandName: 'UpdateItemCommand',
      });
    }

    // The policy synthesized from today's route table allows every call delete-topic makes.
    setAwsRequestCheck(globalCheck());
    expect((await http.delete('/v1/topics/doomed')).status).toBe(204);
    expect((await http.get('/v1/topics/doomed')).status).toBe(404);
  });

  it('a denied DynamoDB call is AccessDeniedException (400), a denied S3 call AccessDenied (403), before anything is sent', async () => {
    let sent = 0;
    const client = s3Client();
    client.middlewareStack.add(
      (next) => async (args) => {
        sent++;
        return next(args);
      },
      { step: 'finalizeRequest', name: 'countSent' },
    );
    try {
      // fetch-records may read segments but never write one.
      const put = runAsFunction('fetch-records', () =>
        client.send(new PutObjectCommand({ Bucket: bucketName(), Key: 'segments/x/forged', Body: 'x' })),
      );
      const s3Error = await put.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(s3Error).toBeInstanceOf(S3ServiceException);
      expect(s3Error).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      expect((s3Error as Error).message).toMatch(
        /is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::logway-segments\/segments\/x\/forged/,
      );
      expect(sent).toBe(0);
      // Reading is allowed and really sent (a 404: nothing is there).
      const get = await runAsFunction('fetch-records', () =>
        client.send(new GetObjectCommand({ Bucket: bucketName(), Key: 'segments/x/missing' })).catch((error: Error) => error),
      );
      expect((get as Error).name).toBe('NoSuchKey');
      expect(sent).toBeGreaterThan(0);
    } finally {
      client.middlewareStack.remove('countSent');
    }

    const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    const { dynamo } = await import('../../shared/runtime/aws');
    const dynamoError = await runAsFunction('list-topics', () =>
      dynamo().send(
        new UpdateCommand({
          TableName: tableName('topics'),
          Key: { name: 'x' },
          UpdateExpression: 'SET a = :a',
          ExpressionAttributeValues: { ':a': 1 },
        }),
      ),
    ).catch((error: unknown) => error);
    expect(dynamoError).toBeInstanceOf(DynamoDBServiceException);
    expect(dynamoError).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
    expect(iamDenials().map((d) => `${d.functionName} ${d.action}`)).toEqual([
      'fetch-records s3:PutObject',
      'list-topics dynamodb:UpdateItem',
    ]);
  });

  it("npm start's check (cached policies) denies the same calls and logs what to grant", async () => {
    const { installLocalIamCheck } = await import('../support/iam-local');
    const { synthesizedMs } = await installLocalIamCheck();
    expect(synthesizedMs).toBe(0); // the global setup's synthesis is reused
    const logged: string[] = [];
    const original = console.error;
    console.error = (message: string) => void logged.push(message);
    try {
      const error = await runAsFunction('produce', () =>
        s3Client().send(new DeleteObjectCommand({ Bucket: bucketName(), Key: 'segments/x/y' })),
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    } finally {
      console.error = original;
    }
    expect(logged.join('\n')).toMatch(
      /would be AccessDenied.*produce: s3:DeleteObject on arn:aws:s3:::logway-segments\/segments\/x\/y.*Grant it/s,
    );
  });

  it('a function the template does not have is denied everything', async () => {
    const error = await runAsFunction('no-such-function', () =>
      s3Client().send(new GetObjectCommand({ Bucket: bucketName(), Key: 'segments/a' })),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AccessDenied' });
    expect(iamDenials()).toHaveLength(1);
  });

  it('the retention sweep, run as its function, stays within its policy: retention, compaction, purge of a deleted topic', async () => {
    const old = Date.now() - 3_600_000;
    const big = 'b'.repeat(5000); // over the inline threshold: stored in S3
    await http.post('/v1/topics', { name: 'expiring', partitions: 1, config: { 'retention.ms': 60_000 } });
    await http.post('/v1/topics/expiring/records', {
      records: [
        { value: big, timestamp: old },
        { value: big, timestamp: old },
      ],
    });
    await http.post('/v1/topics/expiring/records', { records: [{ value: 'fresh' }] });
    await http.post('/v1/topics', { name: 'compacted', partitions: 1, config: { 'cleanup.policy': 'compact' } });
    for (let i = 0; i < 3; i++) {
      await http.post('/v1/topics/compacted/records', {
        records: [
          { key: 'k', value: big },
          { key: 'j', value: `v${i}` },
        ],
      });
    }
    await http.post('/v1/topics', { name: 'purged', partitions: 2 });
    await http.post('/v1/topics/purged/records', { records: [{ value: big }, { value: 'small' }] });
    expect((await http.delete('/v1/topics/purged')).status).toBe(204);

    const report = await runAsFunction('retention-sweep', () => sweepRetention());
    expect(report.batchesDeleted).toBeGreaterThan(0);
    expect(iamDenials()).toEqual([]);
  });
});
