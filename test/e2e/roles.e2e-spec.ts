import { ROLES, type Role } from '../../src/auth/principal';
import { freshEnv, startApp, type TestApp } from '../support/app';

// API.md, "Commands": who may call what. Every other role gets 403 before anything is read;
// an allowed role gets past the guard (here to a 404 or 400, since the ids do not exist).
const A = '01234567-89ab-7def-8123-456789abcdef';
const MATRIX: ReadonlyArray<[string, readonly Role[]]> = [
  ['/v1/programmes', ['programme_admin']],
  ['/v1/programmes/cast-dtdp-2025/applications', ['applicant']],
  [`/v1/applications/${A}/recommendation`, ['society_staff']],
  [`/v1/applications/${A}/recommendation-withdrawal`, ['society_staff']],
  [`/v1/applications/${A}/decline`, ['society_staff']],
  [`/v1/applications/${A}/match`, ['programme_admin']],
  [`/v1/applications/${A}/not-selected`, ['programme_admin']],
  [`/v1/applications/${A}/enrolment`, ['programme_admin']],
  [`/v1/participants/${A}/activities`, ['participant', 'society_staff']],
  [`/v1/participants/${A}/activities/${A}/verification`, ['society_staff']],
  [`/v1/participants/${A}/activities/${A}/rejection`, ['society_staff']],
  [`/v1/participants/${A}/activities/${A}/correction`, ['participant', 'society_staff']],
  [`/v1/participants/${A}/activities/${A}/retraction`, ['participant', 'society_staff']],
  [`/v1/participants/${A}/reviews`, ['society_staff']],
  [`/v1/participants/${A}/completion`, ['society_staff']],
  [`/v1/participants/${A}/withdrawal`, ['society_staff', 'participant']],
  [`/v1/participants/${A}/association-invitation`, ['programme_admin']],
];

describe('roles on every command (API.md)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(await freshEnv('sqlite'));
  });
  afterAll(async () => {
    await t.close();
  });

  it.each(MATRIX)(
    '%s: only %j get past the role check; the others get 403',
    async (url, allowed) => {
      for (const role of ROLES) {
        const headers = {
          ...(await t.auth(role, { society: 'B33' })),
          'content-type': 'application/json',
        };
        const response = await t.request({ method: 'POST', url, headers, payload: '{}' });
        if (allowed.includes(role)) expect([400, 404]).toContain(response.statusCode);
        else expect({ role, status: response.statusCode }).toEqual({ role, status: 403 });
      }
    },
  );
});
