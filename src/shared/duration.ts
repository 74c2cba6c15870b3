const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;

/** A lifetime as people write it (`30m`, `8h`, `7d`): a whole number and one unit. */
export const DURATION = /^(\d+)\s*([smhdw])$/;

/** The seconds in a duration such as `8h`; undefined when it is not written as one. */
export function durationSeconds(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}
