import { describe, expect, it } from 'vitest';
import { checkJava, configuredEndpoints, JavaMissingError } from '../../infra/local/emulators';
import { rateMs } from '../../infra/local/scheduler';

describe('embedded emulators', () => {
  it('fails at once without Java, saying what to install and that LocalStack is the alternative', () => {
    const started = Date.now();
    let error: unknown;
    try {
      checkJava('/nonexistent/java');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(JavaMissingError);
    expect((error as Error).message).toMatch(/Java 17/);
    expect((error as Error).message).toMatch(/openjdk-17-jre-headless/);
    expect((error as Error).message).toMatch(/AWS_ENDPOINT_URL/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('uses endpoints from the SDK variables instead of starting emulators (the LocalStack path)', () => {
    expect(configuredEndpoints({})).toEqual({});
    expect(configuredEndpoints({ AWS_ENDPOINT_URL: 'http://localhost:4566' })).toEqual({
      dynamodb: 'http://localhost:4566',
      s3: 'http://localhost:4566',
    });
    expect(configuredEndpoints({ AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_S3: 'http://b' })).toEqual({
      dynamodb: 'http://a',
      s3: 'http://b',
    });
    expect(configuredEndpoints({ AWS_ENDPOINT_URL_DYNAMODB: 'http://d' })).toEqual({ dynamodb: 'http://d' });
  });

  it('runs scheduled functions locally at their EventBridge rate', () => {
    expect(rateMs('rate(5 minutes)')).toBe(300_000);
    expect(rateMs('rate(1 hour)')).toBe(3_600_000);
    expect(rateMs('cron(0 3 * * ? *)')).toBeUndefined();
  });
});
