/**
 * The OpenAPI 3.1 document served at /v1/openapi.json, generated from the route table and the
 * same zod schemas that validate requests, so the document cannot disagree with the service.
 */
import { z } from 'zod';
import { type RouteDefinition, type RouteName, routes } from '../http/routes';
import { type RouteContract, routeContracts } from './contracts';

const jsonSchema = (schema: z.ZodType) => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: "Kafka-style error name, e.g. 'UNKNOWN_TOPIC_OR_PARTITION'" },
        message: { type: 'string' },
      },
      additionalProperties: true,
    },
  },
};

function operation(route: RouteDefinition, contract: RouteContract | undefined) {
  const parameters: unknown[] = [];
  for (const match of route.path.matchAll(/\{(\w+)\}/g)) {
    parameters.push({ name: match[1], in: 'path', required: true, schema: { type: 'string' } });
  }
  if (contract?.query) {
    const schema = jsonSchema(contract.query) as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      parameters.push({ name, in: 'query', required: schema.required?.includes(name) ?? false, schema: property });
    }
  }
  for (const [name, description] of Object.entries(contract?.headers ?? {})) {
    parameters.push({ name, in: 'header', required: false, description, schema: { type: 'string' } });
  }
  return {
    operationId: route.name,
    summary: route.summary,
    ...(parameters.length ? { parameters } : {}),
    ...(contract?.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(contract.body) } } } } : {}),
    responses: {
      '2XX': { description: 'Success', content: { 'application/json': { schema: {} } } },
      default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
    security: [{ sigv4: [] }],
  };
}

export function openApiDocument(): Record<string, unknown> {
  const byRoute = routeContracts();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes as readonly RouteDefinition[]) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation(route, byRoute[route.name as RouteName]);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Logway',
      version: '1',
      description: "Kafka's model (topics, partitions, offsets, consumer groups) over HTTP on AWS serverless primitives.",
    },
    paths,
    components: {
      schemas: { Error: errorSchema },
      securitySchemes: {
        sigv4: { type: 'apiKey', name: 'Authorization', in: 'header', description: 'AWS SigV4 (IAM); not required by the local runtime.' },
      },
    },
  };
}
