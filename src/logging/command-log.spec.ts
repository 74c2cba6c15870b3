import { DecideSelectionCommand } from '../applications/commands/application.handlers';
import { ParticipantCommandMessage } from '../participants/commands/participant.handler';
import { DefineProgrammeCommand } from '../programmes/commands/define-programme.handler';
import { EnrolParticipantCommand } from '../participants/commands/enrol-participant';
import { commandContext } from '../shared/command-context';
import { principalOf } from '../shared/principal';
import type { ProgrammeRules } from '../programmes/domain/programme';
import { commandName } from './command-log';

describe('commandName', () => {
  const context = commandContext(principalOf('programme_admin', 'admin-1', null));

  it('names an envelope of several domain commands by the one it carries', () => {
    expect(
      commandName(
        new ParticipantCommandMessage(
          'p-1',
          { type: 'VerifyActivity', activityId: 'act-1' },
          context,
          undefined,
        ),
      ),
    ).toBe('VerifyActivity');
    expect(
      commandName(
        new DecideSelectionCommand(
          'a-1',
          { type: 'MatchCandidate', mentoringSocietyCode: 'B33' },
          context,
        ),
      ),
    ).toBe('MatchCandidate');
  });

  it('names any other command by its class, without the "Command" suffix', () => {
    expect(commandName(new EnrolParticipantCommand('a-1', '2026-01-01', context))).toBe(
      'EnrolParticipant',
    );
    expect(commandName(new DefineProgrammeCommand({} as ProgrammeRules, context))).toBe(
      'DefineProgramme',
    );
  });
});
