import type { ApplicationForm } from '../../src/applications/domain/application';

/** An application that passes every rule of the 2025 programme. */
export const eligibleForm: ApplicationForm = {
  fullName: 'Li Wei',
  nationality: 'CN',
  enrolmentType: 'full_time',
  degreeLevel: 'doctoral',
  institution: 'Institute of Process Engineering, CAS',
  expectedGraduationDate: '2028-07-01',
  researchField: 'separation chemistry',
  preferredSocietyCode: 'B33',
};
