import { oneTimeNotice } from '../../../oneTimeNotice.js';

/** What an operator just did to the change windows, shown once on the windows page (see `oneTimeNotice`). */
export const WINDOW_NOTICES = {
  created: 'The change window is defined: runs look at it before each new tenant they start.',
  deleted: 'The change window is deleted: runs that waited for it look again within a minute.',
} as const;
export type WindowNotice = keyof typeof WINDOW_NOTICES;

/** The windows page is one record: its notices name it so. */
export const WINDOWS_PAGE = 'windows';

export const windowNotice = oneTimeNotice(
  { name: 'window_notice', path: '/system/ops/windows' },
  Object.keys(WINDOW_NOTICES) as WindowNotice[],
);
