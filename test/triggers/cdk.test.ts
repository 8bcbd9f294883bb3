/**
 * The trigger dispatcher in the CDK stack: woken by both table streams (the chunks table's
 * filtered to writes, the triggers table's to wake-up items), and allowed to invoke only functions tagged for this stack or on
 * the allow-list, never any function of the account.
 */
import { describe, expect, it } from 'vitest';
import { synthesize } from '../infra/synth';

type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };

function invokeStatements(template: ReturnType<typeof synthesize>['template']): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .flatMap((policy) => (policy.Properties.PolicyDocument.Statement as Statement[]) ?? [])
    .filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'));
}

describe('the trigger dispatcher (CDK)', () => {
  const { stack, template } = synthesize({}, 'LogwayTriggers');
  const dispatcher = stack.triggerDispatcher!.dispatcher;
  const dispatcherId = stack.getLogicalId(dispatcher.function.node.defaultChild as never);

  it('is woken by writes of the chunks stream and by the wake-up items of the triggers stream only', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map((m) => m.Properties);
    const mine = mappings.filter((m) => JSON.stringify(m.FunctionName).includes(dispatcherId));
    expect(mine).toHaveLength(2);
    const logicalId = (table: { node: { defaultChild?: unknown } }) => stack.getLogicalId(table.node.defaultChild as never);
    const onTable = (table: { node: { defaultChild?: unknown } }) =>
      mine.find((m) => JSON.stringify(m.EventSourceArn).includes(logicalId(table)));
    const appends = onTable(stack.storage.tables.chunks);
    const wakes = onTable(stack.storage.tables.triggers);
    // Puts and joins of chunks wake it; removals (retention, TTL of stubs) do not.
    expect(JSON.parse(appends!.FilterCriteria.Filters[0].Pattern)).toEqual({ eventName: ['INSERT', 'MODIFY'] });
    expect(JSON.stringify(wakes!.FilterCriteria)).toContain('w#');
    for (const mapping of mine) expect(mapping.StartingPosition).toBe('LATEST');
    const streams = Object.entries(template.findResources('AWS::DynamoDB::Table'))
      .filter(([, t]) => t.Properties.StreamSpecification?.StreamViewType === 'KEYS_ONLY')
      .map(([id]) => id);
    expect(streams.sort()).toEqual([logicalId(stack.storage.tables.chunks), logicalId(stack.storage.tables.triggers)].sort());
  });

  it("writes failure topics with the produce route's access, and never the partitions table", () => {
    const role = stack.getLogicalId(stack.triggerDispatcher!.dispatcher.role.node.defaultChild as never);
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(role))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
    const actionsOn = (table: { node: { defaultChild?: unknown } }) =>
      statements
        .filter((s) => JSON.stringify(s.Resource).includes(stack.getLogicalId(table.node.defaultChild as never)))
        .flatMap((s) => [s.Action].flat());
    expect(actionsOn(stack.storage.tables.chunks)).toEqual(
      expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query']),
    );
    expect(actionsOn(stack.storage.tables.partitions).filter((a) => !/Get|Query|ConditionCheck|Stream|ListStreams/.test(a))).toEqual([]);
  });

  it('may invoke only functions tagged for this stack (and itself, to hand on), never any function', () => {
    const statements = invokeStatements(template);
    for (const statement of statements) {
      const resources = [statement.Resource].flat().map((r) => JSON.stringify(r));
      if (resources.some((r) => r.includes('function:*'))) {
        expect(statement.Condition?.StringEquals?.['aws:ResourceTag/logway:trigger-target']).toBeDefined();
      } else {
        expect(resources.join()).toContain(dispatcherId);
      }
      expect(resources).not.toContain('"*"');
    }
    expect(statements.some((s) => s.Condition)).toBe(true);
  });

  it('with an allow-list and tags off, may invoke only the listed functions (and their qualifiers), and refuses others itself', () => {
    const listed = synthesize(
      { triggerFunctions: ['orders-handler', 'arn:aws:lambda:eu-west-1:123456789012:function:billing'], triggerTaggedFunctions: false },
      'LogwayListed',
    );
    const statements = invokeStatements(listed.template);
    const resources = statements.flatMap((s) => [s.Resource].flat().map((r) => JSON.stringify(r)));
    expect(resources.some((r) => r.includes('function:orders-handler'))).toBe(true);
    expect(resources).toContain('"arn:aws:lambda:eu-west-1:123456789012:function:billing:*"');
    expect(resources.some((r) => r.includes('function:*'))).toBe(false);
    expect(statements.every((s) => !s.Condition)).toBe(true);
    const fn = Object.values(listed.template.findResources('AWS::Lambda::Function')).find((f) =>
      JSON.stringify(f.Properties.Environment ?? {}).includes('LOGWAY_TRIGGER_ALLOWED_FUNCTIONS'),
    );
    expect(fn!.Properties.Environment.Variables.LOGWAY_TRIGGER_ALLOWED_FUNCTIONS).toBe(
      'orders-handler,arn:aws:lambda:eu-west-1:123456789012:function:billing',
    );
  });

  it('refuses an allow-list entry that is not a function name or ARN', () => {
    expect(() => synthesize({ triggerFunctions: ['*'] }, 'LogwayBad')).toThrow(/not a Lambda function name/);
  });
});
