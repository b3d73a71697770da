import { oneTimeNotice } from '../../../oneTimeNotice.js';

/** What an operator just did to a change request, shown once on its page (see `oneTimeNotice`). */
export const DECISION_NOTICES = {
  approved: 'Your approval is recorded.',
  rejected: 'The change request is rejected; nothing was started.',
  withdrawn: 'The change request is withdrawn; nothing was started.',
  voided: 'Approved, but the data changed since the preflight: the request is void and nothing was started.',
} as const;
export type DecisionNotice = keyof typeof DECISION_NOTICES;

export const decisionNotice = oneTimeNotice(
  { name: 'change_notice', path: '/system/ops/changes' },
  Object.keys(DECISION_NOTICES) as DecisionNotice[],
);
