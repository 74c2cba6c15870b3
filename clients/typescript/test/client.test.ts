// Run against a running service by the main project's test (test/e2e/typed-client.e2e-spec.ts):
// PROGRESS_URL, and tokens for an admin, staff of B33 and an applicant.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allItems, progressClient, type Problem } from '../src/index.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const baseUrl = env('PROGRESS_URL');
const admin = progressClient({ baseUrl, token: env('ADMIN_TOKEN') });
const applicant = progressClient({ baseUrl, token: () => env('APPLICANT_TOKEN') });
const P = 'cast-dtdp-2025';

void test('reads a programme, typed', async () => {
  const { data, error, response } = await admin.GET('/v1/programmes/{programmeId}', {
    params: { path: { programmeId: P } },
  });
  assert.equal(response.status, 200);
  assert.equal(error, undefined);
  assert.equal(data?.requiredHours, 240);
  assert.deepEqual(
    data?.societies.map((society) => society.code),
    ['B33'],
  );
});

void test('submits an application, then reads it with minPosition (read-your-writes)', async () => {
  const submitted = await applicant.POST('/v1/programmes/{programmeId}/applications', {
    params: { path: { programmeId: P } },
    body: {
      fullName: '李明',
      nationality: 'CN',
      enrolmentType: 'full_time',
      degreeLevel: 'doctoral',
      institution: 'Peking University',
      expectedGraduationDate: '2029-06-30',
      researchField: 'Rare earth magnets',
      preferredSocietyCode: 'B33',
    },
  });
  assert.equal(submitted.response.status, 201);
  const { applicationId, position, eligibility } = submitted.data!;
  assert.equal(eligibility.eligible, true);
  const read = await applicant.GET('/v1/applications/{applicationId}', {
    params: { path: { applicationId }, query: { minPosition: position } },
  });
  assert.equal(read.data?.fullName, '李明');
  assert.equal(read.data?.status, 'submitted');
});

void test('pages a list with allItems', async () => {
  const programmes = [];
  for await (const programme of allItems(async (cursor) => {
    const { data, error } = await admin.GET('/v1/programmes', {
      params: { query: { limit: 1, ...(cursor ? { cursor } : {}) } },
    });
    if (error) throw new Error(error.detail);
    return data;
  }))
    programmes.push(programme.programmeId);
  assert.ok(programmes.includes(P));
});

void test('an error is a typed problem document', async () => {
  const { data, error, response } = await admin.GET('/v1/programmes/{programmeId}', {
    params: { path: { programmeId: 'no-such-programme' } },
  });
  assert.equal(data, undefined);
  assert.equal(response.status, 404);
  assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const problem: Problem | undefined = error;
  assert.equal(problem?.code, 'PROGRAMME_NOT_FOUND');
});
