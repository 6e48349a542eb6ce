import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { CorsHttpMethod, type CorsPreflightOptions, type ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { Duration } from 'aws-cdk-lib';
import { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_MAX_AGE_SECONDS } from '../../lib/http/cors';
import { RetentionDays, type LogGroupProps } from 'aws-cdk-lib/aws-logs';

/** Requests per second across the API's default stage, and the burst above it (API Gateway answers 429 past them). */
export function stageThrottleDefaults(): ThrottleSettings {
  return { rateLimit: 2000, burstLimit: 5000 };
}

/** CORS for these origins only (lib/http/cors.ts); none configured, none allowed. */
export function corsDefaults(origins: readonly string[]): CorsPreflightOptions | undefined {
  if (origins.length === 0) return undefined;
  return {
    allowOrigins: [...origins],
    allowMethods: CORS_ALLOW_METHODS.map((m) => CorsHttpMethod[m as keyof typeof CorsHttpMethod]),
    allowHeaders: CORS_ALLOW_HEADERS,
    maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
  };
}

/** Access logs: kept three months (enough to investigate abuse of a key), removed with the stack. */
export function accessLogGroupDefaults(): LogGroupProps {
  return { retention: RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY };
}

/**
 * One JSON line per request, with HTTP API context variables only: API Gateway rejects a stage whose
 * format names a REST-only variable, and `AccessLogFormat.jsonWithStandardFields()` names one
 * (`$context.resourcePath`). The integration and error fields show why a request failed.
 *
 * No client IP address (`$context.identity.sourceIp`): these logs are kept three months, and personal
 * data is never at rest in clear (an IP address is hashed as soon as it has served network matching;
 * API Gateway cannot hash it). Abuse is traced by route, time, status and user agent, and throttled per
 * stage; the request id ties a line to the function's own logs.
 */
export function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      userAgent: '$context.identity.userAgent',
      requestTime: '$context.requestTime',
      routeKey: '$context.routeKey',
      status: '$context.status',
      protocol: '$context.protocol',
      responseLength: '$context.responseLength',
      responseLatency: '$context.responseLatency',
      integrationStatus: '$context.integrationStatus',
      integrationLatency: '$context.integrationLatency',
      integrationError: '$context.integrationErrorMessage',
      error: '$context.error.message',
    }),
  );
}
