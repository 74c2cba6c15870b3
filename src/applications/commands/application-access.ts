import type { EventStore } from '../../event-sourcing';
import type { Principal } from '../../shared/principal';
import { canSee } from '../../auth/access';
import { loadState } from '../../shared/command-context';
import { notFound } from '../../shared/domain/domain-error';
import {
  programmeDecider,
  programmeStream,
  type ProgrammeRules,
} from '../../programmes/domain/programme';
import {
  applicationDecider,
  applicationStream,
  type ApplicationSubmittedData,
} from '../domain/application';

/** The programme's rules, or 404. */
export async function loadProgramme(
  store: EventStore,
  programmeId: string,
): Promise<ProgrammeRules> {
  const { state } = await loadState(store, programmeStream(programmeId), programmeDecider);
  if (!state.defined) throw notFound('PROGRAMME_NOT_FOUND', `No programme ${programmeId}.`);
  return state.rules;
}

/**
 * The application, if this caller may see it: its applicant, staff of the society it chose,
 * headquarters and auditors. Anyone else gets the same 404 as for an application that does not
 * exist, so its existence is not revealed.
 */
export async function loadApplicationFor(
  store: EventStore,
  applicationId: string,
  principal: Principal,
): Promise<ApplicationSubmittedData> {
  // Made when thrown: an error captures a stack trace, which costs more than the check.
  const hidden = () => notFound('APPLICATION_NOT_FOUND', `No application ${applicationId}.`);
  if (!/^[0-9a-f-]{36}$/.test(applicationId)) throw hidden();
  const { state } = await loadState(store, applicationStream(applicationId), applicationDecider);
  if (
    !state ||
    !canSee(
      principal,
      { subjectRef: state.subjectRef, sub: state.applicantSub },
      state.preferredSocietyCode,
    )
  )
    throw hidden();
  return state;
}
