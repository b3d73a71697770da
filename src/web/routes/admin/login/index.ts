import { findCustomerUserByEmail } from '../../../../auth/customerUsers.js';
import { planeLoginRoutes } from '../../../login.js';
import { CUSTOMER } from '../../../plugins/app/auth.js';

/** `GET|POST /admin/login`, `POST /admin/logout`: customer users sign in to their tenant. */
export const adminLoginRoutes = planeLoginRoutes({
  plane: 'admin',
  accountKind: 'user',
  findAccount: findCustomerUserByEmail,
  signOutAccess: CUSTOMER,
  audience: "Sign in to see your organization's findings.",
});
