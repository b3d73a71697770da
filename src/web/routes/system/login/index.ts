import { findPlatformUserByEmail } from '../../../../auth/platformUsers.js';
import { planeLoginRoutes } from '../../../login.js';
import { operatorHome } from '../../../planes.js';
import { SIGNED_IN } from '../../../plugins/app/auth.js';

/** `GET|POST /system/login`, `POST /system/logout`: operators sign in. */
export const loginRoutes = planeLoginRoutes({
  plane: 'system',
  accountKind: 'platform_user',
  findAccount: findPlatformUserByEmail,
  homeOf: (operator) => operatorHome(operator.capabilities),
  signOutAccess: SIGNED_IN,
  audience: 'Platform operators only.',
});
