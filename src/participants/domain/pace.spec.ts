import { readPace, type PaceFacts } from './pace';

const facts = (verifiedHours: number, status: PaceFacts['status'] = 'active'): PaceFacts => ({
  status,
  windowStart: '2026-01-01',
  windowEnd: '2028-01-01',
  requiredHours: 240,
  verifiedHours,
});

describe('pace', () => {
  // 730-day window; on 2027-01-01, 365 days in, a linear pace expects 120 hours.
  const midway = '2027-01-01';

  it.each([
    [132, 'ahead'],
    [131.9, 'on_track'],
    [108, 'on_track'],
    [107.9, 'behind'],
    [72, 'behind'],
    [71.9, 'at_risk'],
  ])('given %d verified hours halfway, then %s', (verified, pace) => {
    expect(readPace(facts(verified), midway)).toMatchObject({ pace, expectedHoursToDate: 120 });
  });

  it('is on track while nothing is expected yet', () => {
    expect(readPace(facts(0), '2026-01-01').pace).toBe('on_track');
    expect(readPace(facts(0), '2025-12-01').pace).toBe('on_track');
  });

  it('is at risk once the window has ended short of the requirement, even far ahead of a linear pace', () => {
    expect(readPace(facts(239), '2028-01-01').pace).toBe('at_risk');
    expect(readPace(facts(240), '2028-01-01')).toMatchObject({
      pace: 'on_track',
      expectedHoursToDate: 240,
    });
  });

  it('lets completed and withdrawn take precedence', () => {
    expect(readPace(facts(10, 'completed'), midway).pace).toBe('completed');
    expect(readPace(facts(500, 'withdrawn'), midway).pace).toBe('withdrawn');
  });

  it('projects completion at the average verified rate since the start', () => {
    // 60 hours in 365 days: 240 hours take 1460 days.
    expect(readPace(facts(60), midway).projectedCompletionDate).toBe('2029-12-31');
    expect(readPace(facts(0), midway).projectedCompletionDate).toBeNull();
  });
});
