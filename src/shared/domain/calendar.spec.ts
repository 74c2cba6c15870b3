import {
  addDays,
  assertCalendarDates,
  addMonths,
  daysBetween,
  daysSpanned,
  isCalendarDate,
  isTimeZone,
  localDate,
} from './calendar';

describe('calendar', () => {
  it('accepts only real YYYY-MM-DD dates', () => {
    expect(isCalendarDate('2025-11-17')).toBe(true);
    expect(isCalendarDate('2024-02-29')).toBe(true);
    expect(isCalendarDate('2025-02-29')).toBe(false);
    expect(isCalendarDate('2025-1-7')).toBe(false);
    expect(isCalendarDate('17/11/2025')).toBe(false);
  });

  it('adds months the way people count them, clamping to the month end', () => {
    expect(addMonths('2026-01-01', 24)).toBe('2028-01-01');
    expect(addMonths('2025-01-31', 1)).toBe('2025-02-28');
    expect(addMonths('2024-01-31', 1)).toBe('2024-02-29');
    expect(addMonths('2025-11-30', 3)).toBe('2026-02-28');
  });

  it('counts days', () => {
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
    expect(daysBetween('2026-01-01', '2028-01-01')).toBe(730);
    expect(daysSpanned('2026-03-14', '2026-03-14')).toBe(1);
    expect(daysSpanned('2026-03-14', '2026-03-16')).toBe(3);
  });

  it('finds the local date of an instant in a time zone', () => {
    expect(localDate('2025-11-17T23:59:59+08:00', 'Asia/Shanghai')).toBe('2025-11-17');
    expect(localDate('2025-11-18T00:00:00+08:00', 'Asia/Shanghai')).toBe('2025-11-18');
    expect(localDate('2025-11-17T16:00:00Z', 'Asia/Shanghai')).toBe('2025-11-18');
    expect(localDate('2025-11-17T16:00:00Z', 'Europe/London')).toBe('2025-11-17');
  });

  it('knows real time zones only', () => {
    expect(isTimeZone('Asia/Shanghai')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('impossible dates', () => {
  it.each(['2026-11-99', '2026-02-30', '2026-11-31', '2099-99-99', '2025-02-29'])(
    '%s is refused before any arithmetic rolls it over',
    (date) => {
      expect(isCalendarDate(date)).toBe(false);
      expect(() => addDays(date, 1)).toThrow(RangeError);
      expect(() => assertCalendarDates({ endedOn: date })).toThrow(
        expect.objectContaining({ code: 'INVALID_DATE', kind: 'invalid' }),
      );
    },
  );

  it('accepts real dates, leap days included, and null for an absent one', () => {
    expect(() => assertCalendarDates({ occurredOn: '2028-02-29', endedOn: null })).not.toThrow();
  });
});
