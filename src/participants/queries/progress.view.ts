import { viewOf, type ProgressView } from '../domain/progress-summary';
import { type ProgressDoc, summarise } from './progress.projection';

/** Totals, percent and pace of a progress document for `today`. */
export function progressView(doc: ProgressDoc, today: string): ProgressView {
  return viewOf(summarise(doc), today);
}
