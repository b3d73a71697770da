/** Emails are stored and looked up in one form, so `Ops@Example.com` is the same operator. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
