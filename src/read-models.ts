import { applicationsProjection } from './applications/queries/applications.projection';
import { progressProjection } from './participants/queries/progress.projection';
import { timelineReadModel } from './participants/queries/timeline.projection';
import type { Projection } from './projections/projection';
import { programmesProjection } from './programmes/queries/programmes.projection';

/**
 * Every projection the service keeps up to date, each defined in its own slice. Listed once
 * here, in the composition root, for the application and the command line alike.
 */
export const PROJECTIONS = [
  programmesProjection,
  applicationsProjection,
  progressProjection,
  timelineReadModel,
] as ReadonlyArray<Projection<unknown>>;
