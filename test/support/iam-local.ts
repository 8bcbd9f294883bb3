/**
 * The IAM check in `npm start`: the same check as the test suite's (iam-check.ts), against the
 * policies of the synthesized template (iam-policies.ts: cached, so a start with unchanged infra/
 * and shared/ synthesizes nothing). A denied call fails as it would on AWS, and is logged with what
 * to grant. LOGWAY_IAM_CHECK=0 turns it off.
 */
import { setAwsRequestCheck } from '../../shared/runtime/aws';
import { describeDenials, iamCheck } from './iam-check';
import { functionPolicies } from './iam-policies';

export async function installLocalIamCheck(): Promise<{ synthesizedMs: number }> {
  const policies = await functionPolicies();
  const enforced = iamCheck(policies);
  setAwsRequestCheck(async (request) => {
    try {
      await enforced.check(request);
    } finally {
      const denials = enforced.takeDenials();
      if (denials.length > 0) {
        console.error(
          `[logway] IAM: on AWS this call would be AccessDenied, so it fails here too:\n  ${describeDenials(denials)}\n` +
            "  Grant it in the function's entry (shared/http/routes.ts or infra/schedules.ts).",
        );
      }
    }
  });
  return { synthesizedMs: policies.synthesizedMs };
}
