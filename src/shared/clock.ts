/** The one source of "now" for the edge; the domain gets times as arguments. */
export abstract class Clock {
  abstract now(): Date;
}

/** The machine's clock. */
export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}

/** A clock that says what it is told: for tests and replays. */
export class FixedClock extends Clock {
  constructor(private instant: Date) {
    super();
  }

  now(): Date {
    return new Date(this.instant);
  }

  /** Moves the clock to `instant`. */
  set(instant: Date | string): void {
    this.instant = new Date(instant);
  }
}
