import { viewOf, type ProgressSummary, type ProgressView } from '../domain/progress-summary';
import { type ProgressDoc, summarise } from './progress.projection';

// Summaries of documents that cannot change: those the read-model store shares, frozen, between
// reads of the same unchanged document (a page polled reads the same object each time).
// Summing a participant's activities was ~5% of an HTTP progress read. A document that is not
// frozen (an as-of fold, one a projection changes in place) is summed each time.
const frozenSummaries = new WeakMap<ProgressDoc, ProgressSummary>();

function summaryOf(doc: ProgressDoc): ProgressSummary {
  if (!Object.isFrozen(doc)) return summarise(doc);
  let summary = frozenSummaries.get(doc);
  if (summary === undefined) {
    summary = summarise(doc);
    frozenSummaries.set(doc, summary);
  }
  return summary;
}

/** Totals, percent and pace of a progress document for `today`. */
export function progressView(doc: ProgressDoc, today: string): ProgressView {
  return viewOf(summaryOf(doc), today);
}
