import 'reflect-metadata';
import { HEADERS_METADATA } from '@nestjs/common/constants';

let mockSwaggerLoaded = false;
jest.mock('@nestjs/swagger', () => {
  mockSwaggerLoaded = true;
  return jest.requireActual('@nestjs/swagger');
});

import { HealthController } from './health.controller';

describe("the worker's HealthController", () => {
  it('does not load @nestjs/swagger (the worker has no OpenAPI document; it cost 5-9 MiB of RSS)', () => {
    expect(mockSwaggerLoaded).toBe(false);
  });

  it.each(['live', 'ready'] as const)('/health/%s still answers with Cache-Control: no-cache', (route) => {
    expect(Reflect.getMetadata(HEADERS_METADATA, HealthController.prototype[route])).toEqual([
      { name: 'Cache-Control', value: 'no-cache, no-store, must-revalidate' },
    ]);
  });
});
