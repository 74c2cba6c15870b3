// What the pages' views share: the context each draws in.
import type { Claims } from './api';

/** What a view needs to draw itself, and where. */
export type ViewContext = {
  readonly claims: Claims;
  readonly programme: Programme;
  readonly programmes: readonly Programme[];
  readonly main: HTMLElement;
  /** The society chosen (admins and auditors) or the token's own (staff); undefined: all. */
  readonly society: string | undefined;
  /** Updates the address bar's query (and history) without reloading. */
  readonly navigate: (query: Record<string, string | undefined>) => void;
  /** Draws the view again, its figures read at `minPosition` or later. */
  readonly refresh: (minPosition?: number) => Promise<void>;
};

export type Programme = {
  readonly programmeId: string;
  readonly name: string;
  readonly requiredHours: number;
  readonly recommendationQuota: number;
  readonly societies: ReadonlyArray<{ code: string; name: string }>;
};

/** A view draws into `context.main` with figures read at `minPosition` or later. */
export type View = (context: ViewContext, minPosition: number) => Promise<void>;
