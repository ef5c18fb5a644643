import { HttpException } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsString, Max, Min } from 'class-validator';
import { ApiValidationPipe } from './api-validation.pipe';
import { Omittable } from './decorators';

class PageQuery {
  @Omittable()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @Omittable()
  @IsString()
  cursor?: string;
}

class NameBody {
  @IsString()
  name!: string;
}

const pipe = new ApiValidationPipe();

async function errorsOf(value: unknown, type: 'query' | 'body', metatype: new () => object) {
  try {
    await pipe.transform(value, { type, metatype });
  } catch (error) {
    return ((error as HttpException).getResponse() as { errors: { field: string; rule: string }[] }).errors;
  }
  return [];
}

describe('ApiValidationPipe on routes without a compiled body check', () => {
  it.each(['toString', 'hasOwnProperty', 'constructor', 'valueOf', '__proto__', 'isPrototypeOf'])(
    'refuses %s as an unknown field, in a body and in a query',
    async (name) => {
      const body = JSON.parse(`{"name": "a", "${name}": 1}`);
      expect(await errorsOf(body, 'body', NameBody)).toEqual([
        expect.objectContaining({ field: name, rule: 'unknownField' }),
      ]);
      const query = Object.assign(Object.create(null), { limit: '5', [name]: '1' });
      expect(await errorsOf(query, 'query', PageQuery)).toEqual([
        expect.objectContaining({ field: name, rule: 'unknownField' }),
      ]);
    },
  );

  it.each(['0x10', '+5', '1e2', ' 5', '5 ', '', '5.0', '1_000'])(
    'refuses limit=%j: integers are decimal digits',
    async (limit) => {
      expect(await errorsOf({ limit }, 'query', PageQuery)).toEqual([
        expect.objectContaining({ field: 'limit', rule: 'isInt' }),
      ]);
    },
  );

  it('takes decimal integers and leaves other query strings alone', async () => {
    expect(await pipe.transform({ limit: '50', cursor: '0x10' }, { type: 'query', metatype: PageQuery })).toEqual(
      Object.assign(new PageQuery(), { limit: 50, cursor: '0x10' }),
    );
    expect(await errorsOf({ limit: '0' }, 'query', PageQuery)).toEqual([
      expect.objectContaining({ field: 'limit', rule: 'min' }),
    ]);
  });
});
