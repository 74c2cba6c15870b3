import type { Decider, DomainEvent } from '../../src/event-sourcing';
import { foldEvents } from '../../src/event-sourcing';
import type { RecordedEvent } from '../../src/event-sourcing';
import { DomainError } from '../../src/shared/domain/domain-error';

/**
 * Given / when / then for deciders: `given(events).when(command)` then either `.then(events)`
 * or `.thenFails(code)`. Pure: no store, no clock.
 */
export function deciderSpec<Command, Event extends DomainEvent, State>(
  decider: Decider<Command, Event, State>,
) {
  return {
    given(events: readonly Event[]) {
      const state = foldEvents(decider, events as unknown as readonly RecordedEvent[]);
      return {
        when(command: Command) {
          const run = () => decider.decide(command, state);
          return {
            then(expected: readonly Event[]): void {
              expect(run()).toEqual(expected);
            },
            thenFails(code: string, kind?: DomainError['kind']): DomainError {
              let caught: unknown;
              try {
                run();
              } catch (error) {
                caught = error;
              }
              expect(caught).toBeInstanceOf(DomainError);
              expect((caught as DomainError).code).toBe(code);
              if (kind) expect((caught as DomainError).kind).toBe(kind);
              return caught as DomainError;
            },
          };
        },
      };
    },
  };
}
