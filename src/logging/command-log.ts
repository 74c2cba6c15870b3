import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type AppendRecord, type CommandTrace, traceCommand } from '../shared/command-trace';

/**
 * The name a command is logged under. The Nest commands are envelopes, and two of them carry one
 * of several domain commands (`request` or `decision`, with a `type`): that type says what was
 * asked (`LogActivity`, `RecommendCandidate`). The others are named by their class.
 */
export function commandName(command: object): string {
  for (const key of ['request', 'decision']) {
    const inner = (command as Record<string, unknown>)[key];
    if (typeof inner === 'object' && inner !== null) {
      const type = (inner as { type?: unknown }).type;
      if (typeof type === 'string') return type;
    }
  }
  return command.constructor.name.replace(/Command(Message)?$/, '');
}

/** Where a command's appends landed: the last one's stream and position, all of them if several. */
function appendFields(appends: readonly AppendRecord[]): Record<string, unknown> {
  const last = appends.at(-1);
  if (!last) return { stream: null, position: null };
  return {
    stream: last.stream,
    revision: last.revision,
    position: last.position,
    events: last.events,
    ...(appends.length > 1 ? { appends } : {}),
  };
}

/** The stable code of a refusal (`QUOTA_REACHED`), never its message, which may quote data. */
function refusalCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * One log line per command the service handles: its name, what it appended (stream, revision,
 * global position, event types) or why it was refused, and how long it took. Inside a request,
 * the line carries the request's id.
 */
@Injectable()
export class CommandLog implements OnModuleInit {
  private readonly logger = new Logger('Command');

  constructor(private readonly commands: CommandBus) {}

  onModuleInit(): void {
    // @nestjs/cqrs has no hook around a command's execution (its publisher sees a command before
    // it runs, not what it did), so the one bus's `execute` is wrapped: every handler is covered
    // without touching any of them.
    const execute = this.commands.execute.bind(this.commands) as (
      command: object,
      context?: unknown,
    ) => Promise<unknown>;
    this.commands.execute = (command: object, context?: unknown) =>
      this.logged(command, () => execute(command, context));
  }

  private async logged<T>(command: object, run: () => Promise<T>): Promise<T> {
    const trace: CommandTrace = { appends: [] };
    const started = performance.now();
    const base = () => ({
      command: commandName(command),
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    });
    try {
      const result = await traceCommand(trace, run);
      this.logger.log({
        msg: trace.appends.length > 0 ? 'command handled' : 'command changed nothing',
        ...base(),
        outcome: trace.appends.length > 0 ? 'appended' : 'unchanged',
        ...appendFields(trace.appends),
      });
      return result;
    } catch (error) {
      // A refusal (a domain rule, a stale revision) is an answer, logged with its code; anything
      // else failed, and the problem filter logs it with its stack.
      const code = refusalCode(error);
      const fields = { ...base(), ...appendFields(trace.appends) };
      if (code !== undefined)
        this.logger.log({ msg: 'command refused', ...fields, outcome: 'refused', code });
      else
        this.logger.warn({
          msg: 'command failed',
          ...fields,
          outcome: 'failed',
          error: error instanceof Error ? error.name : typeof error,
        });
      throw error;
    }
  }
}
