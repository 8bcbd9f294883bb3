/**
 * Installed in every test file (vitest setupFiles): the IAM check of every SDK call a handler
 * makes, against the synthesized policies the global setup provides. A denied call fails as it
 * would on AWS, and any denial also fails the test it happened in, even when a handler swallowed
 * the error. A test that means to be denied takes its denials with `iamDenials()`.
 */
import { afterAll, afterEach, inject } from 'vitest';
import { setAwsRequestCheck } from '../../shared/runtime/aws';
import { describeDenials, iamCheck, type Denial, type IamCheck } from './iam-check';

const holder = globalThis as { logwayIamCheck?: IamCheck };
holder.logwayIamCheck ??= iamCheck(inject('iamPolicies'));
const installed = holder.logwayIamCheck;
setAwsRequestCheck(installed.check);

/** The denials so far in this test (and takes them, so the test does not fail for them). */
export function iamDenials(): Denial[] {
  return installed.takeDenials();
}

function failOnDenials(): void {
  const denials = installed.takeDenials();
  if (denials.length > 0) {
    throw new Error(
      `A Logway function made calls its IAM role would be denied on AWS:\n  ${describeDenials(denials)}\n` +
        "Grant them in the function's entry (shared/http/routes.ts or infra/schedules.ts), or stop making them.",
    );
  }
}

afterEach(failOnDenials);
// After the file's own hooks (after-hooks run in reverse order): calls still in flight when its
// last test ended, such as a long poll, are caught too.
afterAll(failOnDenials);
