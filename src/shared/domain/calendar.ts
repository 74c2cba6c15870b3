/**
 * Calendar dates as `YYYY-MM-DD` strings, and the one bridge from instants to dates: the local
 * date of an instant in a time zone. Pure functions; the clock is always an argument.
 */

import { invalid } from './domain-error';

/** A calendar date, `YYYY-MM-DD`. */
export type CalendarDate = string;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

/** True for a real calendar date in `YYYY-MM-DD` form (no 2025-02-30). */
export function isCalendarDate(value: string): boolean {
  const match = DATE.exec(value);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === value;
}

/**
 * Refuses any of `dates` (named by field) that is not a real calendar date, so an impossible
 * date never reaches the arithmetic below, which would roll it over (2026-11-99 → 2027-02-07).
 */
export function assertCalendarDates(dates: Readonly<Record<string, string | null>>): void {
  for (const [field, value] of Object.entries(dates)) {
    if (value !== null && !isCalendarDate(value))
      throw invalid(
        'INVALID_DATE',
        `${field} must be a real calendar date YYYY-MM-DD, not ${value}.`,
        {
          field,
        },
      );
  }
}

// Pace reads the same few dates (window start and end, today) for every participant, and
// checking and converting one costs a regular expression and two Date objects: a dashboard of
// 500 participants spent most of its pace time here. Dates and their instants never change
// meaning, so both directions are remembered, up to a bound (then forgotten all at once).
const MEMORY = 10_000;
const utcOf = new Map<CalendarDate, number>();
const dateOf = new Map<number, CalendarDate>();

function toUtc(date: CalendarDate): number {
  const known = utcOf.get(date);
  if (known !== undefined) return known;
  if (!isCalendarDate(date)) throw new RangeError(`not a real YYYY-MM-DD date: ${date}`);
  const match = DATE.exec(date)!;
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  if (utcOf.size >= MEMORY) utcOf.clear();
  utcOf.set(date, ms);
  return ms;
}

function fromUtc(ms: number): CalendarDate {
  const known = dateOf.get(ms);
  if (known !== undefined) return known;
  const date = new Date(ms).toISOString().slice(0, 10);
  if (dateOf.size >= MEMORY) dateOf.clear();
  dateOf.set(ms, date);
  return date;
}

/** `date` plus `days` (may be negative). */
export function addDays(date: CalendarDate, days: number): CalendarDate {
  return fromUtc(toUtc(date) + days * MS_PER_DAY);
}

/**
 * `date` plus `months` calendar months, clamped to the month's last day
 * (2025-01-31 + 1 month = 2025-02-28), as people count "24 months from enrolment".
 */
export function addMonths(date: CalendarDate, months: number): CalendarDate {
  const utc = new Date(toUtc(date));
  const year = utc.getUTCFullYear();
  const month = utc.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return fromUtc(Date.UTC(year, month, Math.min(utc.getUTCDate(), lastDay)));
}

/** Whole days from `from` to `to` (`to` − `from`). */
export function daysBetween(from: CalendarDate, to: CalendarDate): number {
  return Math.round((toUtc(to) - toUtc(from)) / MS_PER_DAY);
}

/** Calendar days a span covers, both ends included (a one-day activity spans 1). */
export function daysSpanned(first: CalendarDate, last: CalendarDate): number {
  return daysBetween(first, last) + 1;
}

/** True when `timeZone` is an IANA zone this runtime knows (e.g. `Asia/Shanghai`). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone });
    return true;
  } catch {
    return false;
  }
}

// Building an Intl.DateTimeFormat costs far more than using one: keep one per zone.
const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    formats.set(timeZone, format);
  }
  return format;
}

// The last answer per zone, by the second it was for: reads ask for today's date many times a
// second (formatToParts was ~3 % of an HTTP progress read). UTC offsets are whole seconds, so
// the date cannot change within one.
const lastDates = new Map<string, { readonly second: number; readonly date: CalendarDate }>();

/** The calendar date that `instant` falls on in `timeZone`. */
export function localDate(instant: Date | string, timeZone: string): CalendarDate {
  const date = typeof instant === 'string' ? new Date(instant) : instant;
  const second = Math.floor(date.getTime() / 1000);
  const last = lastDates.get(timeZone);
  if (last !== undefined && last.second === second) return last.date;
  const parts = formatFor(timeZone).formatToParts(date);
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  const answer: CalendarDate = `${part('year')}-${part('month')}-${part('day')}`;
  lastDates.set(timeZone, { second, date: answer });
  return answer;
}
