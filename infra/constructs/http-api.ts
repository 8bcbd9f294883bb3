/**
 * Logway's public face: an API Gateway HTTP API whose routes are the route table's entries, each
 * integrated with its own function (payload format 2.0), authorized with IAM (SigV4) unless a
 * dev stage says otherwise, throttled at the stage and access-logged as JSON.
 */
import { type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteDefinition } from '../../shared/http/routes';

export type AuthMode = 'iam' | 'none';

export interface LogwayHttpApiProps {
  readonly apiName: string;
  /** 'iam': every route requires a SigV4-signed request (AWS_IAM). 'none': open, dev only. */
  readonly authMode: AuthMode;
  /** Stage-wide default route throttling (requests per second, and burst). */
  readonly throttle: Required<apigwv2.ThrottleSettings>;
  readonly accessLogRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * One JSON object per request in the access log group (HTTP API $context variables:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html).
 */
const accessLogFormat = {
  requestId: '$context.requestId',
  routeKey: '$context.routeKey',
  status: '$context.status',
  latency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
  caller: '$context.identity.userArn',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  requestTime: '$context.requestTimeEpoch',
  responseLength: '$context.responseLength',
  protocol: '$context.protocol',
};

export class LogwayHttpApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogGroup: logs.LogGroup;
  readonly authMode: AuthMode;

  constructor(scope: Construct, id: string, props: LogwayHttpApiProps) {
    super(scope, id);
    this.authMode = props.authMode;

    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: props.apiName,
      description: 'Logway: topics, partitions, offsets and consumer groups over HTTP',
      defaultAuthorizer: props.authMode === 'iam' ? new HttpIamAuthorizer() : new apigwv2.HttpNoneAuthorizer(),
      // The default stage is added below, where access logging and throttling can be set.
      createDefaultStage: false,
    });

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention,
      removalPolicy: props.removalPolicy,
    });

    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFormat)),
      },
    });
  }

  /** The invoke URL of the default stage, with a trailing slash. */
  get url(): string {
    return this.stage.url;
  }

  /**
   * Sends every request that matches no route to `handler` (the `$default` route), under the same
   * authorizer as the others, so an unknown path answers in the contract's error shape rather than
   * API Gateway's `{"message":"Not Found"}`.
   */
  addDefaultRoute(handler: lambda.IFunction): apigwv2.HttpRoute {
    const route = new apigwv2.HttpRoute(this, 'DefaultRoute', {
      httpApi: this.api,
      routeKey: apigwv2.HttpRouteKey.DEFAULT,
      integration: new HttpLambdaIntegration('DefaultRouteIntegration', handler, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    this.acknowledgeOpenRoute(route);
    return route;
  }

  /** Routes `route.method route.path` to `handler`. */
  addRoute(route: RouteDefinition, handler: lambda.IFunction): apigwv2.HttpRoute[] {
    const httpRoutes = this.api.addRoutes({
      path: route.path,
      methods: [apigwv2.HttpMethod[route.method]],
      integration: new HttpLambdaIntegration(`${route.name}Integration`, handler, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    for (const httpRoute of httpRoutes) this.acknowledgeOpenRoute(httpRoute);
    return httpRoutes;
  }

  private acknowledgeOpenRoute(httpRoute: apigwv2.HttpRoute): void {
    if (this.authMode !== 'none') return;
    Validations.of(httpRoute).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'authMode none was chosen explicitly for a dev stage (the stack refuses it for any other ' +
        'stage and warns at synth): the route is open for local experiments with curl.',
    });
  }
}
