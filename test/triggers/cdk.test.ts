/**
 * The trigger dispatcher in the CDK stack: woken by both table streams (the triggers table's
 * filtered to wake-up items), and allowed to invoke only functions tagged for this stack or on
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

  it('is woken by the partitions stream and by the wake-up items of the triggers stream only', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map((m) => m.Properties);
    const mine = mappings.filter((m) => JSON.stringify(m.FunctionName).includes(dispatcherId));
    expect(mine).toHaveLength(2);
    const filtered = mine.find((m) => m.FilterCriteria);
    expect(JSON.stringify(filtered!.FilterCriteria)).toContain('w#');
    for (const mapping of mine) expect(mapping.StartingPosition).toBe('LATEST');
    const tables = Object.values(template.findResources('AWS::DynamoDB::Table')).map((t) => t.Properties);
    expect(tables.filter((t) => t.StreamSpecification?.StreamViewType === 'KEYS_ONLY')).toHaveLength(2);
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
