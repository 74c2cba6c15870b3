import { ValidationPipe } from '@nestjs/common';
import { RequestValidationError, flattenValidationErrors } from './problem-details';
import { PageQueryDto } from './query.dto';
import { CachingValidationPipe, REMEMBERED_PER_DTO } from './validation-pipe';

function pipe(): CachingValidationPipe {
  return new CachingValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => new RequestValidationError(flattenValidationErrors(errors)),
  });
}

const query = { type: 'query', metatype: PageQueryDto, data: '' } as const;

describe('CachingValidationPipe', () => {
  it('gives the same DTO for a query string seen before, as a copy of its own', async () => {
    const validation = pipe();
    const first = (await validation.transform({ limit: '20' }, query)) as PageQueryDto;
    const second = (await validation.transform({ limit: '20' }, query)) as PageQueryDto;
    expect(first).toBeInstanceOf(PageQueryDto);
    expect(second).toBeInstanceOf(PageQueryDto);
    expect(second).toEqual(first);
    expect(second.limit).toBe(20);
    // A handler that changes its copy changes nobody else's.
    second.limit = 1;
    const third = (await validation.transform({ limit: '20' }, query)) as PageQueryDto;
    expect(third.limit).toBe(20);
    expect(third).not.toBe(first);
  });

  it('refuses bad input every time, naming every bad field, and does not remember it', async () => {
    const validation = pipe();
    const bad = { limit: 'many', minPosition: '-1', extra: 'x' };
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await validation.transform(bad, query).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(RequestValidationError);
      const fields = (refused as RequestValidationError).errors.map((error) => error.field);
      expect(fields).toEqual(expect.arrayContaining(['limit', 'minPosition', 'extra']));
    }
  });

  it('tells apart inputs that differ only in a value, and forgets the least recently used past its bound', async () => {
    const validation = pipe();
    const plain = jest.spyOn(ValidationPipe.prototype, 'transform');
    const a = (await validation.transform({ limit: '5' }, query)) as PageQueryDto;
    const b = (await validation.transform({ limit: '6' }, query)) as PageQueryDto;
    expect([a.limit, b.limit]).toEqual([5, 6]);
    expect(plain).toHaveBeenCalledTimes(2);
    await validation.transform({ limit: '5' }, query);
    expect(plain).toHaveBeenCalledTimes(2);
    // `limit=5` was used last, so `limit=6` is the oldest: the next distinct inputs push it out.
    for (let i = 0; i < REMEMBERED_PER_DTO - 1; i++) {
      await validation.transform({ cursor: `c${i}` }, query);
    }
    expect(plain).toHaveBeenCalledTimes(2 + REMEMBERED_PER_DTO - 1);
    await validation.transform({ limit: '5' }, query);
    expect(plain).toHaveBeenCalledTimes(2 + REMEMBERED_PER_DTO - 1);
    await validation.transform({ limit: '6' }, query);
    expect(plain).toHaveBeenCalledTimes(2 + REMEMBERED_PER_DTO);
    plain.mockRestore();
  });

  it('leaves bodies to the plain pipe', async () => {
    const validation = pipe();
    const body = { type: 'body', metatype: PageQueryDto, data: '' } as const;
    const first = await validation.transform({ limit: '3' }, body);
    const second = await validation.transform({ limit: '3' }, body);
    expect(second).not.toBe(first);
    expect(second).toEqual(first);
  });
});
