import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { type Observable, from, concatMap } from 'rxjs';
import { PersonalDataVault } from '../event-sourcing';

/**
 * Opens the sealed personal fields of every answer, the last step before it is sent: read models,
 * lists, as-of answers and audit events all hold ciphertext, and no route can forget to open it
 * (or show a person's data after their erasure: an erased value is `null`, beside `erased: true`).
 */
@Injectable()
export class UnsealInterceptor implements NestInterceptor {
  constructor(@Inject(PersonalDataVault) private readonly vault: PersonalDataVault) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(concatMap((body: unknown) => from(this.vault.unseal(body))));
  }
}
