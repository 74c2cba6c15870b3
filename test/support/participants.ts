import type { TestApp } from './app';
import { eligibleForm } from './programme-fixtures';

const P = 'cast-dtdp-2025';

/**
 * An eligible application by `sub`, recommended by B33, matched and enrolled from 2026-01-01,
 * through the HTTP API; then the clock moves to `today`. Returns the participant id.
 */
export async function enrolParticipant(
  t: TestApp,
  options: { sub?: string; today: string; form?: Partial<typeof eligibleForm> },
): Promise<string> {
  const post = async (url: string, headers: Record<string, string>, payload: unknown = {}) => {
    const response = await t.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(payload),
    });
    expect(response.statusCode).toBeLessThan(300);
    return response;
  };
  const admin = await t.auth('programme_admin');
  const submitted = await post(
    `/v1/programmes/${P}/applications`,
    await t.auth('applicant', { sub: options.sub ?? 'student-1' }),
    { ...eligibleForm, ...options.form },
  );
  const { applicationId } = submitted.json<{ applicationId: string }>();
  await post(
    `/v1/applications/${applicationId}/recommendation`,
    await t.auth('society_staff', { society: 'B33', sub: 'staff-B33' }),
  );
  await post(`/v1/applications/${applicationId}/match`, admin, { mentoringSocietyCode: 'B33' });
  const enrolled = await post(`/v1/applications/${applicationId}/enrolment`, admin, {
    startDate: '2026-01-01',
  });
  t.clock.set(options.today);
  return enrolled.json<{ participantId: string }>().participantId;
}
