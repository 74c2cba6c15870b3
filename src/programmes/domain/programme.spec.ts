import { deciderSpec } from '../../../test/support/decider-spec';
import { DTDP_2025, programmeDecider, windowEnd } from './programme';

const spec = deciderSpec(programmeDecider);

describe('programme', () => {
  it('given nothing, when the 2025 programme is defined, then ProgrammeDefined records its rules', () => {
    spec
      .given([])
      .when({ type: 'DefineProgramme', rules: DTDP_2025 })
      .then([{ type: 'ProgrammeDefined', data: { ...DTDP_2025 } }]);
  });

  it('given it is defined, when the same rules come again (seed on every start), then nothing happens', () => {
    spec
      .given([{ type: 'ProgrammeDefined', data: { ...DTDP_2025 } }])
      .when({ type: 'DefineProgramme', rules: { ...DTDP_2025 } })
      .then([]);
  });

  it('given it is defined, when other rules come, then PROGRAMME_ALREADY_DEFINED (409)', () => {
    spec
      .given([{ type: 'ProgrammeDefined', data: { ...DTDP_2025 } }])
      .when({ type: 'DefineProgramme', rules: { ...DTDP_2025, requiredHours: 200 } })
      .thenFails('PROGRAMME_ALREADY_DEFINED', 'conflict');
  });

  it.each([
    [{ timeZone: 'Mars/Olympus' }, 'UNKNOWN_TIME_ZONE'],
    [{ startDate: '2026-02-30' }, 'INVALID_DATE'],
    [{ applicationDeadline: '2028-01-01' }, 'DEADLINE_AFTER_WINDOW'],
    [{ applicationDeadline: '2030-05-05' }, 'DEADLINE_AFTER_WINDOW'],
    [
      {
        societies: [
          { code: 'B33', name: 'a' },
          { code: 'B33', name: 'b' },
        ],
      },
      'DUPLICATE_SOCIETY',
    ],
  ])('when rules are incoherent (%j), then %s (400)', (change, code) => {
    spec
      .given([])
      .when({ type: 'DefineProgramme', rules: { ...DTDP_2025, ...change } })
      .thenFails(code, 'invalid');
  });

  it('given rolling admission (deadline after the start, before the window ends), then it is defined', () => {
    for (const applicationDeadline of ['2026-01-01', '2026-06-30', '2027-12-31']) {
      spec
        .given([])
        .when({ type: 'DefineProgramme', rules: { ...DTDP_2025, applicationDeadline } })
        .then([{ type: 'ProgrammeDefined', data: { ...DTDP_2025, applicationDeadline } }]);
    }
  });

  it('runs the window for durationMonths from the start date', () => {
    expect(windowEnd(DTDP_2025, '2026-01-01')).toBe('2028-01-01');
  });
});
