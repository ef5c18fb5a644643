import { ArgumentMetadata, BadRequestException } from '@nestjs/common';
import { MAX_BODY_DEPTH, nestsDeeperThan, validationPipe } from './validation';

describe('body depth limit', () => {
  const nested = (depth: number) => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

  it('measures nesting without recursing past the limit', () => {
    expect(nestsDeeperThan(nested(3), 3)).toBe(false);
    expect(nestsDeeperThan(nested(4), 3)).toBe(true);
    expect(nestsDeeperThan(JSON.parse('['.repeat(20000) + ']'.repeat(20000)), MAX_BODY_DEPTH)).toBe(true);
    expect(nestsDeeperThan('text', 0)).toBe(false);
  });

  it('answers a body nested thousands of levels deep with 400, not a stack overflow', async () => {
    const metadata: ArgumentMetadata = { type: 'body', metatype: Object };
    await expect(validationPipe().transform(nested(5000), metadata)).rejects.toBeInstanceOf(BadRequestException);
  });
});
