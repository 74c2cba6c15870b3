import { type ArgumentMetadata, ValidationPipe, type ValidationPipeOptions } from '@nestjs/common';

/** How many distinct query strings (or path parameter sets) are remembered per DTO class. */
export const REMEMBERED_PER_DTO = 256;

/**
 * Nest's `ValidationPipe` (class-transformer, then class-validator), remembering what it made of
 * query strings and path parameters it has already accepted.
 *
 * Reads repeat the same few query strings (`?limit=50`, a dashboard's `?society=B33`), and
 * transforming and validating them again cost more than the query itself (profiled under
 * autocannon: about a third of a progress read). A query string, once accepted, always gives the
 * same DTO: the DTOs are plain data with no dependence on time or the caller. So the accepted DTO
 * is kept, per DTO class and exact input, in a small LRU, and each request gets its own shallow
 * copy (handlers may set defaults on it). Refused input is not remembered: it goes through the
 * pipe again and gets the same problem document naming every bad field. Bodies are never
 * remembered (commands are sent once).
 */
export class CachingValidationPipe extends ValidationPipe {
  private readonly remembered = new WeakMap<object, Map<string, object>>();

  constructor(options: ValidationPipeOptions) {
    super(options);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const dto = metadata.metatype;
    if (
      (metadata.type !== 'query' && metadata.type !== 'param') ||
      dto === undefined ||
      typeof value !== 'object' ||
      value === null
    ) {
      return super.transform(value, metadata);
    }
    const key = metadata.type + JSON.stringify(value);
    let known = this.remembered.get(dto);
    const hit = known?.get(key);
    if (hit !== undefined) {
      // Most recently used last: the oldest goes first when the map is full.
      known!.delete(key);
      known!.set(key, hit);
      return copyOf(hit);
    }
    const accepted: unknown = await super.transform(value, metadata);
    if (typeof accepted !== 'object' || accepted === null) return accepted;
    if (known === undefined) {
      known = new Map();
      this.remembered.set(dto, known);
    }
    if (known.size >= REMEMBERED_PER_DTO) known.delete(known.keys().next().value!);
    known.set(key, copyOf(accepted));
    return accepted;
  }
}

function copyOf(dto: object): object {
  return Object.assign(Object.create(Object.getPrototypeOf(dto) as object | null) as object, dto);
}
