import type { ReadModels } from '../../projections/read-models';
import { notFound } from '../../shared/domain/domain-error';
import type { Projection } from '../../projections/projection';
import type { ProgrammeRules } from '../domain/programme';

/** A programme's rules as clients read them (docs/API.md, "Programme"). */
export type ProgrammeDoc = ProgrammeRules & { readonly position: number };

export const programmesProjection: Projection<ProgrammeDoc, { readonly startDate: string }> = {
  name: 'programmes',
  version: 1,
  keysOf: (event) => (event.type === 'ProgrammeDefined' ? [event.data.programmeId as string] : []),
  evolve: (_doc, event) => ({
    ...(event.data as unknown as ProgrammeRules),
    position: event.position,
  }),
  indexOf: (doc) => ({ startDate: doc.startDate }),
};

/** A programme from its read model, or the 404 every route under `/v1/programmes/:id` gives. */
export async function findProgramme(
  readModels: ReadModels,
  programmeId: string,
): Promise<ProgrammeDoc> {
  const doc = await readModels.get(programmesProjection, programmeId);
  if (!doc) throw notFound('PROGRAMME_NOT_FOUND', `No programme ${programmeId}.`);
  return doc;
}
