/**
 * cdk-nag's AwsSolutions pack finds nothing unacknowledged in any configuration of the stack,
 * and every acknowledgment is specific: it names one rule (one finding for IAM5), gives a reason
 * that says why, and is still needed (removing it would surface a finding).
 *
 * cdk-nag v3 runs as a CDK policy-validation plugin and takes acknowledgments through
 * `Validations.of(construct).acknowledge({ id, reason })` (what v2 called NagSuppressions);
 * `validateScope` runs the same checks that `cdk synth` runs through infra/app.ts.
 */
import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import type { LogwayStackProps } from '../../infra/logway-stack';
import { synthesize, synthesizeFixture, type Synthesized } from './synth';

interface Finding {
  readonly rule: string;
  readonly severity: string;
  readonly path: string;
}

function nagFindings(app: App): Finding[] {
  const report = new AwsSolutionsChecks().validateScope(app);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => ({
      rule: violation.ruleName,
      severity: violation.severity ?? 'error',
      path: resource.constructPath ?? '?',
    })),
  );
}

interface Acknowledgment {
  readonly path: string;
  readonly rule: string;
  readonly reason: string;
}

function acknowledgments(root: IConstruct): Acknowledgment[] {
  const found: Acknowledgment[] = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        const rule = id.replace(/^annotation::/i, '');
        // CDK acknowledges some CloudFormation validator rules itself (W3010 for the VPC's AZs): not cdk-nag's.
        if (rule.startsWith('CloudFormation-Validate::')) continue;
        found.push({ path: construct.node.path, rule, reason });
      }
    }
  }
  return found;
}

/** What cdk-nag would report if nothing were acknowledged. */
function findingsIgnoringAcknowledgments(app: App): Finding[] {
  const holder = Validations as unknown as { ACKNOWLEDGED_RULES_METADATA_KEY: string };
  const key = holder.ACKNOWLEDGED_RULES_METADATA_KEY;
  holder.ACKNOWLEDGED_RULES_METADATA_KEY = 'logway-test:acknowledgments-ignored';
  try {
    return nagFindings(app);
  } finally {
    holder.ACKNOWLEDGED_RULES_METADATA_KEY = key;
  }
}

const configurations: [string, () => Synthesized][] = [
  ['dev (default)', () => synthesize({ stage: 'dev' })],
  ['prod', () => synthesize({ stage: 'prod' })],
  [
    'prod with alarm email and retention',
    () =>
      synthesize({
        stage: 'prod',
        alarmEmail: 'ops@example.com',
        retentionDefaults: { retentionMs: 86_400_000 },
      } satisfies Partial<LogwayStackProps>),
  ],
  ["dev with authMode 'none'", () => synthesize({ stage: 'dev', authMode: 'none' })],
  ['fixture routes and a scheduled function (prod)', () => synthesizeFixture({ stage: 'prod' })],
  [
    'prod with the Kafka gateway (internal, CIDR clients, hosted zone)',
    () =>
      synthesize({
        stage: 'prod',
        kafkaGateway: {
          domainName: 'kafka.example.com',
          certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
          hostedZone: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' },
          allowedCidrs: ['10.0.0.0/8'],
        },
      }),
  ],
  [
    'dev with the Kafka gateway open to the internet',
    () =>
      synthesize({
        stage: 'dev',
        kafkaGateway: {
          domainName: 'kafka.example.com',
          certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
          internetFacing: true,
          allowedCidrs: ['0.0.0.0/0', '::/0'],
        },
      }),
  ],
];

describe('cdk-nag AwsSolutions', () => {
  it.each(configurations)('%s: no unacknowledged finding, no stale or vague acknowledgment', (_name, build) => {
    const { app } = build();
    app.synth();

    const findings = nagFindings(app);
    expect(findings.map((f) => `${f.severity} ${f.rule} at ${f.path}`)).toEqual([]);

    const acknowledged = acknowledgments(app);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { rule, reason, path } of acknowledged) {
      expect(rule, `${path}`).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      // A reason that explains: long enough to say why, and not a placeholder.
      expect(reason.length, `${rule} at ${path}: "${reason}"`).toBeGreaterThanOrEqual(60);
      expect(reason).not.toMatch(/^(todo|n\/a|none|ok|suppressed|not needed)\b/i);
      if (rule.startsWith('AwsSolutions-IAM5')) expect(rule, 'IAM5 is acknowledged per finding').toMatch(/\[Resource::.+\]$/);
    }

    // Every acknowledgment is still needed: without them, each one's finding appears at or below it.
    const raw = findingsIgnoringAcknowledgments(app);
    for (const { rule, path } of acknowledged) {
      const covered = raw.some((f) => f.rule === rule && (f.path === path || f.path.startsWith(`${path}/`)));
      expect(covered, `stale acknowledgment ${rule} at ${path}`).toBe(true);
    }
    // ...and acknowledgments are all that stands between the stack and those findings.
    for (const finding of raw) {
      const covered = acknowledged.some(
        (a) => a.rule === finding.rule && (finding.path === a.path || finding.path.startsWith(`${a.path}/`)),
      );
      expect(covered, `${finding.rule} at ${finding.path}`).toBe(true);
    }
  });

  it('acknowledges nothing at stack or app level: each acknowledgment sits on the construct it is about', () => {
    const { app, stack } = synthesizeFixture({ stage: 'dev' });
    app.synth();
    for (const { path } of acknowledgments(app)) {
      expect(path).not.toBe(stack.node.path);
      expect(path).not.toBe('');
    }
  });
});
