import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import fastifyStatic from '@fastify/static';
import helmet, { HelmetOptions } from 'helmet';
import { TaskContractRegistry } from '@app/contracts';
import { RuntimeTaskTypes } from '@app/task-types';
import { ApiModule } from './api.module';
import { AccessHook } from './auth/access.hook';
import { ApiEnv } from './config/api.env';
import { ConnectionShare, trustedProxies } from './connection-share';
import { clientErrorHandler } from './filters/client-errors';
import { frameworkErrors, HttpErrorFilter, MAX_PARAM_LENGTH } from './filters/http-error.filter';
import { HttpMetricsHook } from './metrics/http-metrics.hook';
import { setUpOpenApi } from './openapi';
import { scheduleBodyChecks } from './schedules/schedule-body.checks';
import { submitBodyChecks } from './submit/submit-body.checks';
import { taskTypeList } from './task-types/dto/task-type.dto';
import { ApiValidationPipe } from './validation/api-validation.pipe';
import { installJsonBodyParser } from './validation/json-body.parser';

/** The operator console's static build (vite, apps/console) beside the api's: dist/apps/api/main.js → dist/console. */
const CONSOLE_DIR = join(__dirname, '..', '..', 'console');

/** Room for the fields around a payload in one POST /submit body (whitespace included). */
export const SUBMIT_BODY_OVERHEAD = 64 * 1024;
/** Headers must arrive within this (or REQUEST_TIMEOUT_MS, if shorter): slow-header clients are cut off. */
const HEADERS_TIMEOUT_MS = 10_000;
/** How often Node checks for requests past those timeouts (its default, 30 s, would let them run 30 s late). */
const TIMEOUT_CHECK_MS = 1000;

/**
 * Each route's body limit: the batch may use MAX_BODY_BYTES; every other route needs at most one
 * payload (MAX_PAYLOAD_BYTES) and its fields, so a single submit cannot make the api read 16 MiB.
 */
export function bodyLimits(env: ApiEnv) {
  const single = Math.min(env.MAX_BODY_BYTES, env.MAX_PAYLOAD_BYTES + SUBMIT_BODY_OVERHEAD);
  return {
    single,
    batch: env.MAX_BODY_BYTES,
    describe: (limit: number) =>
      limit === env.MAX_BODY_BYTES
        ? 'MAX_BODY_BYTES'
        : `this route's limit, MAX_PAYLOAD_BYTES + ${SUBMIT_BODY_OVERHEAD}`,
  };
}

/**
 * The headers helmet sets for `options`, computed once. Only for options whose values are constants
 * (no directive given as a function of the request): helmet is run against a stand-in response.
 */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  let failure: unknown;
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
  return headers;
}

function trustProxy(setting: string): string | false {
  return setting === '' ? false : setting;
}

/**
 * The api's HTTP app as it runs: Fastify with its timeouts and caps, security headers, CORS when
 * configured, authentication and rate limits before any body is read, our JSON body parser (the
 * only one), validation, error mapping, metrics and OpenAPI. main.ts uses it, and so do in-process
 * tests, so they exercise the same wiring.
 */
export async function createApiApp(env: ApiEnv, options: NestApplicationOptions = {}): Promise<NestFastifyApplication> {
  const limits = bodyLimits(env);
  const headersTimeoutMs = Math.min(HEADERS_TIMEOUT_MS, env.REQUEST_TIMEOUT_MS);
  // Each socket's latest request (its headers were read): a 408 says whether headers or body were late.
  const requests = new WeakMap<Socket, IncomingMessage>();
  const app = await NestFactory.create<NestFastifyApplication>(
    ApiModule,
    new FastifyAdapter({
      bodyLimit: limits.single,
      trustProxy: trustProxy(env.TRUST_PROXY),
      requestTimeout: env.REQUEST_TIMEOUT_MS,
      connectionTimeout: env.CONNECTION_TIMEOUT_MS,
      keepAliveTimeout: env.KEEP_ALIVE_TIMEOUT_MS,
      routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
      clientErrorHandler: clientErrorHandler({
        requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
        headersTimeoutMs,
        requestOf: (socket) => requests.get(socket),
      }),
      frameworkErrors,
    }),
    // Nest's own body parsers off (it would add urlencoded forms): installJsonBodyParser below.
    { ...options, bodyParser: false },
  );
  const fastify = app.getHttpAdapter().getInstance();
  const server = fastify.server;
  server.maxConnections = env.MAX_CONNECTIONS;
  new ConnectionShare(env.MAX_CONNECTIONS_PER_ADDRESS, trustedProxies(env.TRUST_PROXY)).install(server);
  server.headersTimeout = headersTimeoutMs;
  server.on('request', (request: IncomingMessage) => requests.set(request.socket, request));
  (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = TIMEOUT_CHECK_MS;
  fastify.addHook('onRoute', (route) => {
    if (route.url === '/submit/batch' && route.method === 'POST') route.bodyLimit = limits.batch;
  });

  // Security headers from helmet. None of them depends on the request with this configuration, so
  // helmet runs once here and every response gets the result: @fastify/helmet rebuilt the middleware
  // (parsing the CSP) per request, 8% of the api's CPU on POST /submit, and running it per request
  // was still 3% (a dozen validated setHeader calls).
  const securityHeaders = helmetHeaders({
    contentSecurityPolicy: {
      useDefaults: false,
      // What Swagger UI at /docs needs: its own scripts, inline styles, data: images; nothing else.
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  });
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(securityHeaders);
    done();
  });
  const origins = env.CORS_ORIGINS.split(',').filter(Boolean);
  if (origins.length > 0) {
    app.enableCors({
      origin: origins,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'X-API-Key', 'Content-Type', 'Idempotency-Key'],
      exposedHeaders: ['Location', 'Retry-After', 'Idempotent-Replayed', 'WWW-Authenticate'],
      maxAge: 600,
    });
  }
  await app.get(AccessHook).register(fastify);
  // The console at /ui: static files, public like /docs (its pages ask for a key and send it with each call).
  // Served when it was built (npm run build); an api built without it serves none.
  if (existsSync(join(CONSOLE_DIR, 'index.html')) && existsSync(join(CONSOLE_DIR, 'assets'))) {
    await app.register(fastifyStatic as never, { root: CONSOLE_DIR, prefix: '/ui/', decorateReply: false });
    fastify.get('/ui', (_request, reply) => reply.redirect('/ui/'));
  }
  installJsonBodyParser(fastify);
  app.useGlobalFilters(new HttpErrorFilter({ maxBodyBytes: env.MAX_BODY_BYTES, describeBodyLimit: limits.describe }));
  app.get(HttpMetricsHook).register(fastify);
  const openApiLimits = { maxBatchSize: env.MAX_BATCH_SIZE };
  // The submit and schedule bodies' fast checks are compiled from the document served at /docs-json.
  // The task types (those defined at run time change) are listed under x-task-types at each request.
  const taskTypes = () => ({ 'x-task-types': taskTypeList(app.get(TaskContractRegistry), app.get(RuntimeTaskTypes)) });
  const document = setUpOpenApi(app, openApiLimits, taskTypes);
  app.useGlobalPipes(
    new ApiValidationPipe(new Map([...submitBodyChecks(document, openApiLimits), ...scheduleBodyChecks(document)])),
  );
  return app;
}
